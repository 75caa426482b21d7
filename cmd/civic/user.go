package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/civic-city/civic/internal/civic"
)

const userUsage = `civic user add NAME --role admin|supervisor|crew|analyst [--password-file F] [--data DIR | --db URL]
    Creates a user. Without --password-file a password is generated and printed once.
civic user list [--data DIR | --db URL]`

func runUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("user add or user list?")
	}
	switch args[0] {
	case "add":
		return runUserAdd(ctx, e, args[1:])
	case "list":
		return runUserList(ctx, e, args[1:])
	}
	return usageErrorf("unknown user command %q", args[0])
}

func runUserAdd(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("user add")
	storeFlags(fs, &c, e.getenv)
	role := fs.String("role", "", "role: admin, supervisor, crew or analyst")
	pwFile := fs.String("password-file", "", "read the password from this file ('-' for standard input)")
	display := fs.String("display-name", "", "the user's full name")
	email := fs.String("email", "", "the user's e-mail address")
	name, err := parseWithName(fs, args)
	if err != nil {
		return err
	}
	if *role == "" {
		return usageErrorf("--role is required")
	}
	password, generated := "", false
	if *pwFile != "" {
		password, err = readSecretFile(*pwFile)
		if err != nil {
			return err
		}
	} else {
		password, generated = newPassword(), true
	}
	a, err := openApp(ctx, &c)
	if err != nil {
		return err
	}
	defer a.close()
	u, err := a.auth.CreateUser(ctx, name, civic.Role(*role), password)
	if err != nil {
		return describe(err)
	}
	if *display != "" || *email != "" {
		u.DisplayName, u.Email = *display, *email
		if err := a.store.UpdateUser(ctx, &u); err != nil {
			return describe(err)
		}
	}
	_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "user.create", Target: "user/" + u.Name, Detail: "role " + string(u.Role)})
	fmt.Fprintf(e.stdout, "created user %s (role %s)\n", u.Name, u.Role)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n(shown once: store it in a password manager)\n", password)
	}
	return nil
}

func runUserList(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("user list")
	storeFlags(fs, &c, e.getenv)
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	a, err := openApp(ctx, &c)
	if err != nil {
		return err
	}
	defer a.close()
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return describe(err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tDISABLED\tCREATED")
	for _, u := range users {
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\n", u.Name, u.Role, u.Disabled, u.CreatedAt.Format("2006-01-02 15:04"))
	}
	return w.Flush()
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseWithName parses flags that may come before or after one positional
// name argument.
func parseWithName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageErrorf("%v", err)
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if name == "" {
		return "", usageErrorf("a name is required")
	}
	return name, nil
}

// newPassword returns a random 20-character password.
func newPassword() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:20]
}

func readSecretFile(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// describe turns a domain error into a message for the command line.
func describe(err error) error {
	if err == nil {
		return nil
	}
	if civic.KindOf(err) == civic.Internal {
		return err
	}
	if f := civic.FieldOf(err); f != "" {
		return fmt.Errorf("%s: %s", f, civic.MessageOf(err))
	}
	return fmt.Errorf("%s", civic.MessageOf(err))
}
