// Command go-host is a real HashiCorp go-plugin host used to check that the Node plugin is
// loadable by go-plugin. It is built against the go-plugin sources Debian packages (v1.0.1), in
// GOPATH mode, by build.sh; see README.md.
//
// It launches the plugin, pings it, calls plexum.provider.v1.ProviderPlugin/GetInfo with an empty
// request (no generated Go code: raw bytes and a hand-written decoder), probes the go-plugin
// side services a newer host would use, shuts the plugin down with Kill(), and prints one JSON
// summary line on stdout. The host's own hclog output (JSON, trace level) goes to stderr.
//
// Exit status: 0 when every step succeeded, 1 when a step failed (the summary names the stage
// and the error), 2 on bad usage, 3 when the watchdog fired.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The plugin contract shared with the Plexum daemon; -cookie-key, -cookie-value and -greet load the
// SDK package's example plugin instead (example.greeter.v1.GreeterService).
const (
	cookieKey     = "PLEXUM_PLUGIN_COOKIE"
	cookieValue   = "plexum-provider-9c1e4b7a"
	pluginName    = "provider"
	getInfoMethod = "/plexum.provider.v1.ProviderPlugin/GetInfo"
	greetMethod   = "/example.greeter.v1.GreeterService/Greet"
	stdioMethod   = "/plugin.GRPCStdio/StreamStdio"
	brokerMethod  = "/plugin.GRPCBroker/StartStream"
	hostName      = "go-host"
	shimFlag      = "-stdout-tap-shim"
	tapEnv        = "GO_HOST_STDOUT_TAP"
)

// rawCodec passes []byte through unchanged, so calls need no generated message types.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

// connPlugin hands the raw *grpc.ClientConn to the caller of Dispense.
type connPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (connPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("go-host only consumes plugins")
}

func (connPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return c, nil
}

type codexStatus struct {
	Ready          bool   `json:"ready"`
	BinaryPath     string `json:"binary_path"`
	Version        string `json:"version"`
	DegradedReason string `json:"degraded_reason"`
	Source         string `json:"source"`
}

type getInfo struct {
	Name            string       `json:"name"`
	Version         string       `json:"version"`
	ProtocolVersion uint64       `json:"protocol_version"`
	Capabilities    []string     `json:"capabilities"`
	Codex           *codexStatus `json:"codex"`
	Configured      bool         `json:"configured"`
	UnknownFields   []int        `json:"unknown_fields,omitempty"`
	ResponseBytes   int          `json:"response_bytes"`
}

type tlsSummary struct {
	Version               string   `json:"version"`
	ServerCertInHandshake bool     `json:"server_cert_in_handshake"`
	PeerDNSNames          []string `json:"peer_dns_names"`
	PeerIsCA              bool     `json:"peer_is_ca"`
	PeerSelfSigned        bool     `json:"peer_self_signed"`
}

type pluginLogSummary struct {
	// Lines the plugin wrote to stderr (as go-plugin copied them to ClientConfig.Stderr).
	Lines int `json:"lines"`
	// Lines go-plugin parsed as hclog JSON and re-logged at their own level.
	Parsed int `json:"parsed"`
	// Lines go-plugin could not parse (not JSON, bad @timestamp, unknown @level): re-logged raw.
	Raw        int            `json:"raw"`
	Levels     map[string]int `json:"levels"`
	RawSamples []string       `json:"raw_samples,omitempty"`
}

type stdoutSummary struct {
	Lines     int      `json:"lines"`
	Handshake string   `json:"handshake"`
	Extra     []string `json:"extra,omitempty"`
}

type timings struct {
	StartMs   float64 `json:"start_ms"`
	ClientMs  float64 `json:"client_ms"`
	PingMs    float64 `json:"ping_ms"`
	GetInfoMs float64 `json:"getinfo_ms"`
	ProbesMs  float64 `json:"probes_ms"`
}

type summary struct {
	OK           bool              `json:"ok"`
	Stage        string            `json:"stage,omitempty"`
	Error        string            `json:"error,omitempty"`
	Ping         string            `json:"ping,omitempty"`
	HealthStatus string            `json:"health_status,omitempty"`
	GetInfo      *getInfo          `json:"getinfo,omitempty"`
	Greet        string            `json:"greet,omitempty"`
	Negotiated   int               `json:"negotiated"`
	Versions     []int             `json:"versions"`
	AutoMTLS     bool              `json:"automtls"`
	TLS          *tlsSummary       `json:"tls,omitempty"`
	Protocol     string            `json:"protocol,omitempty"`
	Network      string            `json:"network,omitempty"`
	Addr         string            `json:"addr,omitempty"`
	Pid          int               `json:"pid,omitempty"`
	Stdio        string            `json:"stdio,omitempty"`
	Broker       string            `json:"broker,omitempty"`
	Timings      timings           `json:"timings"`
	ShutdownMs   float64           `json:"shutdown_ms"`
	Killed       bool              `json:"killed"`
	ExitCode     *int              `json:"exit_code"`
	ExitSignal   string            `json:"exit_signal,omitempty"`
	SocketGone   *bool             `json:"socket_removed,omitempty"`
	ProcessGone  bool              `json:"process_gone"`
	PluginLog    *pluginLogSummary `json:"plugin_log"`
	Stdout       *stdoutSummary    `json:"stdout,omitempty"`
}

// greetName, when set by -greet, replaces the GetInfo call with GreeterService/Greet.
var greetName string

var (
	emitOnce sync.Once
	sumMu    sync.Mutex
)

func emit(s *summary) {
	emitOnce.Do(func() {
		sumMu.Lock()
		defer sumMu.Unlock()
		b, err := json.Marshal(s)
		if err != nil {
			b = []byte(fmt.Sprintf(`{"ok":false,"stage":"emit","error":%q}`, err.Error()))
		}
		os.Stdout.Write(append(b, '\n'))
	})
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}

// lineCounter splits what go-plugin copies to ClientConfig.Stderr back into lines.
type lineCounter struct {
	mu    sync.Mutex
	buf   []byte
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for {
		i := bytes.IndexByte(c.buf, '\n')
		if i < 0 {
			break
		}
		c.lines++
		c.buf = c.buf[i+1:]
	}
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.lines
	if len(c.buf) > 0 {
		n++
	}
	return n
}

// hostLogTap classifies what go-plugin re-logs from the plugin's stderr. go-plugin logs each
// stderr line through c.logger.Named(<plugin basename>): a line it parsed as hclog JSON is logged
// at its own level with a trailing "timestamp" key/value; a line it could not parse (not JSON, a
// bad @timestamp, an unknown @level) is logged as a bare message, at DEBUG unless it starts with
// a [LEVEL] prefix.
type hostLogTap struct {
	mu           sync.Mutex
	stats        pluginLogSummary
	gracefulFail bool
}

func newHostLogTap() *hostLogTap {
	return &hostLogTap{stats: pluginLogSummary{Levels: map[string]int{}}}
}

func (t *hostLogTap) pluginRecord(level hclog.Level, msg string, args []interface{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(args); n >= 2 && args[n-2] == "timestamp" {
		t.stats.Parsed++
		t.stats.Levels[levelName(level)]++
		return
	}
	t.stats.Raw++
	if len(t.stats.RawSamples) < 5 {
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		t.stats.RawSamples = append(t.stats.RawSamples, msg)
	}
}

func (t *hostLogTap) snapshot(lines int) *pluginLogSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Lines = lines
	levels := make(map[string]int, len(s.Levels))
	for k, v := range s.Levels {
		levels[k] = v
	}
	s.Levels = levels
	s.RawSamples = append([]string(nil), s.RawSamples...)
	return &s
}

func (t *hostLogTap) killedByHost() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gracefulFail
}

func levelName(l hclog.Level) string {
	switch l {
	case hclog.Trace:
		return "trace"
	case hclog.Debug:
		return "debug"
	case hclog.Info:
		return "info"
	case hclog.Warn:
		return "warn"
	case hclog.Error:
		return "error"
	}
	return fmt.Sprintf("level%d", int(l))
}

// tapLogger is the host's hclog.Logger with the calls go-plugin makes intercepted for hostLogTap.
type tapLogger struct {
	hclog.Logger
	tap    *hostLogTap
	plugin bool
}

func (l *tapLogger) Named(name string) hclog.Logger {
	return &tapLogger{Logger: l.Logger.Named(name), tap: l.tap, plugin: true}
}

func (l *tapLogger) observe(level hclog.Level, msg string, args []interface{}) {
	if l.plugin {
		l.tap.pluginRecord(level, msg, args)
	} else if level == hclog.Warn && msg == "plugin failed to exit gracefully" {
		l.tap.mu.Lock()
		l.tap.gracefulFail = true
		l.tap.mu.Unlock()
	}
}

func (l *tapLogger) Trace(msg string, args ...interface{}) {
	l.observe(hclog.Trace, msg, args)
	l.Logger.Trace(msg, args...)
}

func (l *tapLogger) Debug(msg string, args ...interface{}) {
	l.observe(hclog.Debug, msg, args)
	l.Logger.Debug(msg, args...)
}

func (l *tapLogger) Info(msg string, args ...interface{}) {
	l.observe(hclog.Info, msg, args)
	l.Logger.Info(msg, args...)
}

func (l *tapLogger) Warn(msg string, args ...interface{}) {
	l.observe(hclog.Warn, msg, args)
	l.Logger.Warn(msg, args...)
}

func (l *tapLogger) Error(msg string, args ...interface{}) {
	l.observe(hclog.Error, msg, args)
	l.Logger.Error(msg, args...)
}

// decodeGetInfo decodes plexum.provider.v1.GetInfoResponse by hand.
func decodeGetInfo(b []byte) (*getInfo, error) {
	info := &getInfo{Capabilities: []string{}, ResponseBytes: len(b)}
	err := walkFields(b, func(num int, wt int, v uint64, data []byte) error {
		switch {
		case num == 1 && wt == 2:
			info.Name = string(data)
		case num == 2 && wt == 2:
			info.Version = string(data)
		case num == 3 && wt == 0:
			info.ProtocolVersion = v
		case num == 4 && wt == 2:
			info.Capabilities = append(info.Capabilities, string(data))
		case num == 5 && wt == 2:
			c, err := decodeCodex(data)
			if err != nil {
				return fmt.Errorf("codex: %v", err)
			}
			info.Codex = c
		case num == 6 && wt == 0:
			info.Configured = v != 0
		case num >= 1 && num <= 6:
			return fmt.Errorf("field %d has wire type %d", num, wt)
		default:
			info.UnknownFields = append(info.UnknownFields, num)
		}
		return nil
	})
	return info, err
}

func decodeCodex(b []byte) (*codexStatus, error) {
	c := &codexStatus{}
	err := walkFields(b, func(num int, wt int, v uint64, data []byte) error {
		switch {
		case num == 1 && wt == 0:
			c.Ready = v != 0
		case num == 2 && wt == 2:
			c.BinaryPath = string(data)
		case num == 3 && wt == 2:
			c.Version = string(data)
		case num == 4 && wt == 2:
			c.DegradedReason = string(data)
		case num == 5 && wt == 2:
			c.Source = string(data)
		case num >= 1 && num <= 5:
			return fmt.Errorf("field %d has wire type %d", num, wt)
		}
		return nil
	})
	return c, err
}

func varint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("truncated or overlong varint")
}

// walkFields calls fn for every field of a protobuf message (wire types 0, 1, 2, 5).
func walkFields(b []byte, fn func(num int, wt int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n, err := varint(b)
		if err != nil {
			return err
		}
		b = b[n:]
		num, wt := int(key>>3), int(key&7)
		if num == 0 {
			return errors.New("field number 0")
		}
		var v uint64
		var data []byte
		switch wt {
		case 0:
			v, n, err = varint(b)
			if err != nil {
				return err
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errors.New("truncated fixed64")
			}
			b = b[8:]
		case 2:
			l, n, err := varint(b)
			if err != nil {
				return err
			}
			b = b[n:]
			if uint64(len(b)) < l {
				return fmt.Errorf("field %d: length %d exceeds message", num, l)
			}
			data, b = b[:l], b[l:]
		case 5:
			if len(b) < 4 {
				return errors.New("truncated fixed32")
			}
			b = b[4:]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, wt)
		}
		if err := fn(num, wt, v, data); err != nil {
			return err
		}
	}
	return nil
}

// probeStream opens a server- or bidi-streaming call the way a newer go-plugin host would and
// reports "open" when the plugin holds it open (the expected stub behaviour), "closed" when the
// plugin ended it cleanly, "data" when it sent a message, or the gRPC status code otherwise.
func probeStream(conn *grpc.ClientConn, method string, clientStreams bool, wait time.Duration) string {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: method, ServerStreams: true, ClientStreams: clientStreams}
	s, err := conn.NewStream(ctx, desc, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return status.Code(err).String()
	}
	if !clientStreams {
		if err := s.SendMsg([]byte{}); err != nil && err != io.EOF {
			return status.Code(err).String()
		}
		if err := s.CloseSend(); err != nil {
			return status.Code(err).String()
		}
	}
	var msg []byte
	err = s.RecvMsg(&msg)
	switch {
	case err == nil:
		return "data"
	case err == io.EOF:
		return "closed"
	case status.Code(err) == codes.DeadlineExceeded:
		return "open"
	}
	return status.Code(err).String()
}

func parseVersions(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad version %q", f)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no versions")
	}
	return out, nil
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// runShim is the -stdout-tap mode's middleman: it runs the plugin with stdin and stderr
// inherited, copies the plugin's stdout to its own stdout (which go-plugin reads) and to the file
// named by $GO_HOST_STDOUT_TAP, and exits the way the plugin exited.
func runShim(target string) int {
	// Like a plugin, ignore SIGINT: the host owns the lifecycle.
	signal.Ignore(os.Interrupt)
	tap, err := os.OpenFile(os.Getenv(tapEnv), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[ERROR] go-host shim: %v\n", err)
		return 1
	}
	defer tap.Close()
	cmd := exec.Command(target)
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "[ERROR] go-host shim: %v\n", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "[ERROR] go-host shim: %v\n", err)
		return 1
	}
	_, _ = io.Copy(io.MultiWriter(tap, os.Stdout), out)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if err != nil {
		return cmd.ProcessState.ExitCode()
	}
	return 0
}

func readTap(path string) *stdoutSummary {
	f, err := os.Open(path)
	if err != nil {
		return &stdoutSummary{}
	}
	defer f.Close()
	s := &stdoutSummary{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		s.Lines++
		line := sc.Text()
		if s.Lines == 1 {
			s.Handshake = line
			continue
		}
		if len(s.Extra) < 5 {
			if len(line) > 300 {
				line = line[:300] + "…"
			}
			s.Extra = append(s.Extra, line)
		}
	}
	return s
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == shimFlag {
		os.Exit(runShim(os.Args[2]))
	}

	pluginPath := flag.String("plugin", "", "absolute path of the plugin executable (required)")
	autoMTLS := flag.Bool("automtls", false, "enable go-plugin AutoMTLS")
	versionsFlag := flag.String("versions", "1", "comma-separated app protocol versions the host offers")
	startTimeout := flag.Duration("start-timeout", 30*time.Second, "go-plugin StartTimeout")
	rpcTimeout := flag.Duration("rpc-timeout", 10*time.Second, "deadline for Ping and GetInfo")
	probeWait := flag.Duration("probe-wait", 200*time.Millisecond, "how long the stdio/broker probes wait")
	watchdog := flag.Duration("watchdog", 60*time.Second, "abort everything after this long")
	stdoutTap := flag.Bool("stdout-tap", false, "run the plugin through a shim that records its whole stdout")
	key := flag.String("cookie-key", cookieKey, "magic cookie variable")
	value := flag.String("cookie-value", cookieValue, "magic cookie value")
	flag.StringVar(&greetName, "greet", "", "call GreeterService/Greet with this name instead of GetInfo")
	flag.Parse()

	sum := &summary{AutoMTLS: *autoMTLS}
	if *pluginPath == "" || !filepath.IsAbs(*pluginPath) || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go-host -plugin /abs/path/to/plugin [-automtls] [-versions 1,2] [-stdout-tap]")
		os.Exit(2)
	}
	versions, err := parseVersions(*versionsFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-host: -versions: %v\n", err)
		os.Exit(2)
	}
	sum.Versions = versions

	logTap := newHostLogTap()
	logger := &tapLogger{Logger: hclog.New(&hclog.LoggerOptions{
		Name:       hostName,
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	}), tap: logTap}
	stderrLines := &lineCounter{}

	fail := func(stage string, err error) {
		sumMu.Lock()
		sum.OK = false
		if sum.Stage == "" {
			sum.Stage = stage
			sum.Error = err.Error()
		}
		sumMu.Unlock()
	}

	cmd := exec.Command(*pluginPath)
	tapPath := ""
	// Test-harness hygiene only (go-plugin leaves SysProcAttr alone): if go-host itself dies, for
	// example from go-plugin's panic on a non-string "@message", the plugin must not be orphaned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if *stdoutTap {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-host: %v\n", err)
			os.Exit(2)
		}
		tmp, err := os.CreateTemp("", "go-host-stdout-*")
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-host: %v\n", err)
			os.Exit(2)
		}
		tapPath = tmp.Name()
		tmp.Close()
		defer os.Remove(tapPath)
		cmd = exec.Command(self, shimFlag, *pluginPath)
		cmd.Env = []string{tapEnv + "=" + tapPath}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}

	plugins := plugin.PluginSet{pluginName: connPlugin{}}
	versioned := map[int]plugin.PluginSet{}
	for _, v := range versions {
		versioned[v] = plugins
	}
	cfg := &plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  uint(versions[0]),
			MagicCookieKey:   *key,
			MagicCookieValue: *value,
		},
		VersionedPlugins: versioned,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         *autoMTLS,
		Logger:           logger,
		Stderr:           stderrLines,
		StartTimeout:     *startTimeout,
	}
	client := plugin.NewClient(cfg)

	finish := func() {
		sumMu.Lock()
		sum.PluginLog = logTap.snapshot(stderrLines.count())
		if tapPath != "" {
			sum.Stdout = readTap(tapPath)
		}
		sumMu.Unlock()
		emit(sum)
	}

	time.AfterFunc(*watchdog, func() {
		fail("watchdog", fmt.Errorf("go-host did not finish within %s", *watchdog))
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		finish()
		os.Exit(3)
	})

	ok := run(client, cfg, sum, fail, *rpcTimeout, *probeWait)

	// Shut down exactly as a go-plugin application does.
	if cmd.Process != nil {
		sum.Pid = cmd.Process.Pid
	}
	t0 := time.Now()
	client.Kill()
	shutdown := time.Since(t0)
	sumMu.Lock()
	sum.ShutdownMs = ms(shutdown)
	sum.Killed = logTap.killedByHost()
	if st := cmd.ProcessState; st != nil {
		code := st.ExitCode()
		sum.ExitCode = &code
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sum.ExitSignal = ws.Signal().String()
			if ws.Signal() == syscall.SIGKILL {
				sum.Killed = true
			}
		}
	}
	if sum.Pid != 0 {
		sum.ProcessGone = syscall.Kill(sum.Pid, 0) == syscall.ESRCH
	}
	if sum.Network == "unix" && sum.Addr != "" {
		_, err := os.Stat(sum.Addr)
		gone := errors.Is(err, os.ErrNotExist)
		sum.SocketGone = &gone
	}
	if ok && sum.Stage == "" {
		sum.OK = true
	}
	sumMu.Unlock()
	finish()
	if !sum.OK {
		os.Exit(1)
	}
}

// run performs launch, ping, dispense, GetInfo and the probes; it reports the first failure
// through fail and returns false.
func run(client *plugin.Client, cfg *plugin.ClientConfig, sum *summary,
	fail func(string, error), rpcTimeout, probeWait time.Duration) bool {
	t := time.Now()
	addr, err := client.Start()
	sum.Timings.StartMs = ms(time.Since(t))
	if err != nil {
		fail("start", err)
		return false
	}
	sum.Negotiated = client.NegotiatedVersion()
	sum.Network, sum.Addr = addr.Network(), addr.String()
	sum.Protocol = string(client.Protocol())

	t = time.Now()
	rpcClient, err := client.Client()
	sum.Timings.ClientMs = ms(time.Since(t))
	if err != nil {
		fail("client", err)
		return false
	}

	t = time.Now()
	err = rpcClient.Ping()
	sum.Timings.PingMs = ms(time.Since(t))
	if err != nil {
		fail("ping", err)
		return false
	}
	sum.Ping = "ok"

	raw, err := rpcClient.Dispense(pluginName)
	if err != nil {
		fail("dispense", err)
		return false
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		fail("dispense", fmt.Errorf("dispensed %T, want *grpc.ClientConn", raw))
		return false
	}

	// go-plugin's Ping ignores the serving status; check it too.
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	hr, err := grpc_health_v1.NewHealthClient(conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	cancel()
	if err != nil {
		fail("health", err)
		return false
	}
	sum.HealthStatus = hr.GetStatus().String()
	if hr.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		fail("health", fmt.Errorf("health status for %q is %s, want SERVING",
			plugin.GRPCServiceName, hr.GetStatus()))
		return false
	}

	var p peer.Peer
	var resp []byte
	ctx, cancel = context.WithTimeout(context.Background(), rpcTimeout)
	t = time.Now()
	if greetName != "" {
		req := append([]byte{0x0a, byte(len(greetName))}, greetName...)
		err = conn.Invoke(ctx, greetMethod, req, &resp, grpc.ForceCodec(rawCodec{}), grpc.Peer(&p))
		cancel()
		if err != nil {
			fail("greet", err)
			return false
		}
		err = walkFields(resp, func(num int, wt int, v uint64, data []byte) error {
			if num == 1 && wt == 2 {
				sum.Greet = string(data)
			}
			return nil
		})
		if err != nil {
			fail("greet", fmt.Errorf("decoding GreetResponse: %v", err))
			return false
		}
		return true
	}
	err = conn.Invoke(ctx, getInfoMethod, []byte{}, &resp, grpc.ForceCodec(rawCodec{}), grpc.Peer(&p))
	sum.Timings.GetInfoMs = ms(time.Since(t))
	cancel()
	if err != nil {
		fail("getinfo", err)
		return false
	}
	info, err := decodeGetInfo(resp)
	sum.GetInfo = info
	if err != nil {
		fail("getinfo", fmt.Errorf("decoding GetInfoResponse: %v", err))
		return false
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
		ts := &tlsSummary{
			Version:               tlsVersionName(ti.State.Version),
			ServerCertInHandshake: cfg.TLSConfig != nil && cfg.TLSConfig.RootCAs != nil,
			PeerDNSNames:          []string{},
		}
		if len(ti.State.PeerCertificates) > 0 {
			c := ti.State.PeerCertificates[0]
			ts.PeerDNSNames = append(ts.PeerDNSNames, c.DNSNames...)
			sort.Strings(ts.PeerDNSNames)
			ts.PeerIsCA = c.IsCA
			ts.PeerSelfSigned = c.CheckSignatureFrom(c) == nil
		}
		sum.TLS = ts
	} else if cfg.AutoMTLS {
		fail("getinfo", errors.New("AutoMTLS is on but the connection is not TLS"))
		return false
	}

	// Newer go-plugin hosts (>= 1.1) open StreamStdio right after dialing and every host opens the
	// broker stream; a stub that holds them open is what we expect.
	t = time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sum.Stdio = probeStream(conn, stdioMethod, false, probeWait) }()
	go func() { defer wg.Done(); sum.Broker = probeStream(conn, brokerMethod, true, probeWait) }()
	wg.Wait()
	sum.Timings.ProbesMs = ms(time.Since(t))
	return true
}
