// The Plexum provider protocol as a host uses it (the dev host, tests, benchmarks): the generated
// service and messages, named here by hand so that code outside internal/provider never reaches
// into src/gen (the way protobuf-es names its well-known types in wkt/index.ts).
export {
  Diagnostic_Severity,
  ErrorClass,
  type ErrorEvent,
  type HostToolCall,
  Message_Role,
  NoticeEvent_Kind,
  ProviderPlugin,
  type RunTurnResponse,
  type StartTurnSchema,
  ToolEvent_Phase,
  type TurnEnd,
  TurnEnd_Outcome,
  type TurnEvent,
  type Usage,
} from "../../src/gen/plexum/provider/v1/provider_pb.js";
