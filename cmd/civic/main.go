// Command civic is the city operations platform: one binary that serves the
// web UI and APIs, ingests sensor telemetry, plans collection routes and runs
// the operational tools (import, export, accounts, benchmarks).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is what a subcommand may touch of the outside world. Passing it
// explicitly keeps subcommands testable without global state.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand of civic.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, e *env, args []string) error
}

// errUsage reports a command line the subcommand could not understand; main
// prints the usage text and exits with status 2.
var errUsage = errors.New("usage")

func commands() []command {
	return []command{
		{"serve", "run the web server, APIs, ingest and background jobs", serveUsage, runServe},
		{"import", "import assets (CSV, GeoJSON, FIWARE) and collection logs", importUsage, runImport},
		{"export", "export assets as CSV, GeoJSON or FIWARE NGSI-LD", exportUsage, runExport},
		{"user", "manage user accounts", userUsage, runUser},
		{"key", "manage API keys", keyUsage, runKey},
		{"plan", "plan a service day's collection routes", planUsage, runPlan},
		{"route", "solve vehicle routing problems (CVRPLIB / TSPLIB95 files)", routeUsage, runRoute},
		{"demo", "generate a realistic demo city as files", demoUsage, runDemo},
		{"forecast", "fill forecasts: backtest against history", forecastUsage, runForecast},
		{"simulate", "what-if: compare collection policies on a generated city or your own bins", simulateUsage, runSimulate},
		{"bench", "measure performance: ingest, mqtt, map, route, plan, open311, export, load", benchUsage, runBench},
		{"backup", "copy the SQLite database to a file while civic serves", backupUsage, runBackup},
		{"restore", "put a backup in place of the SQLite database", restoreUsage, runRestore},
		{"migrate", "apply or list the database schema migrations", migrateUsage, runMigrate},
		{"version", "print the version", "civic version", runVersion},
		{"help", "show help for civic or one of its commands", "civic help [COMMAND]", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printHelp(e.stdout)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			if c, ok := findCommand(args[1]); ok && c.run != nil {
				fmt.Fprintln(e.stdout, c.usage)
				return 0
			}
			fmt.Fprintf(e.stderr, "civic: unknown command %q\n", args[1])
			return 2
		}
		printHelp(e.stdout)
		return 0
	}
	c, ok := findCommand(name)
	if !ok || c.run == nil {
		fmt.Fprintf(e.stderr, "civic: unknown command %q (see 'civic help')\n", name)
		return 2
	}
	err := c.run(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		if msg := strings.TrimPrefix(err.Error(), errUsage.Error()); strings.TrimSpace(strings.TrimPrefix(msg, ":")) != "" {
			fmt.Fprintf(e.stderr, "civic %s: %s\n", c.name, strings.TrimSpace(strings.TrimPrefix(msg, ":")))
		}
		fmt.Fprintln(e.stderr, c.usage)
		return 2
	default:
		fmt.Fprintf(e.stderr, "civic %s: %v\n", c.name, err)
		return 1
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "civic - operations platform for a city's technology office")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: civic COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'civic help COMMAND' for a command's flags.")
	fmt.Fprintln(w, "The data flags (--data, --db) and the flags of 'civic serve' can also be set with CIVIC_*")
	fmt.Fprintln(w, "environment variables, e.g. CIVIC_ADDR, CIVIC_DB, CIVIC_DATA; 'civic help serve' names each one.")
}

func runVersion(_ context.Context, e *env, _ []string) error {
	fmt.Fprintf(e.stdout, "civic %s\n", version)
	return nil
}

// usageErrorf wraps errUsage with a message for the user.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
