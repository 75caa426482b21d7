package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/civic-city/civic/internal/civic"
)

const keyUsage = `civic key add --scope ingest[,read,open311,admin] [--name NAME] [--data DIR | --db URL]
    Creates an API key and prints its secret once.
civic key list [--data DIR | --db URL]
civic key revoke ID [--data DIR | --db URL]`

func runKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("key add, key list or key revoke?")
	}
	var c config
	fs := newFlagSet("key " + args[0])
	storeFlags(fs, &c, e.getenv)
	switch args[0] {
	case "add":
		scope := fs.String("scope", "", "comma-separated scopes: ingest, read, open311, admin")
		name := fs.String("name", "", "what the key is for")
		if err := fs.Parse(args[1:]); err != nil {
			return usageErrorf("%v", err)
		}
		if *scope == "" {
			return usageErrorf("--scope is required")
		}
		var scopes []civic.Scope
		for _, s := range strings.Split(*scope, ",") {
			scopes = append(scopes, civic.Scope(strings.TrimSpace(s)))
		}
		if *name == "" {
			*name = strings.ReplaceAll(*scope, ",", "-")
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		defer a.close()
		secret, k, err := a.auth.CreateAPIKey(ctx, *name, scopes, "cli")
		if err != nil {
			return describe(err)
		}
		_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "key.create", Target: "key/" + k.ID, Detail: *scope})
		fmt.Fprintf(e.stdout, "created key %s (%s) with scopes %s\n", k.ID, k.Name, *scope)
		fmt.Fprintf(e.stdout, "key: %s\n(shown once: use it as 'Authorization: Bearer KEY')\n", secret)
		return nil
	case "list":
		if err := fs.Parse(args[1:]); err != nil {
			return usageErrorf("%v", err)
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		defer a.close()
		keys, err := a.store.ListAPIKeys(ctx)
		if err != nil {
			return describe(err)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, k := range keys {
			var ss []string
			for _, s := range k.Scopes {
				ss = append(ss, string(s))
			}
			revoked := ""
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(ss, ","), k.CreatedAt.Format("2006-01-02 15:04"), revoked)
		}
		return w.Flush()
	case "revoke":
		id, err := parseWithName(fs, args[1:])
		if err != nil {
			return err
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.auth.RevokeAPIKey(ctx, id); err != nil {
			return describe(err)
		}
		_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "key.revoke", Target: "key/" + id})
		fmt.Fprintf(e.stdout, "revoked key %s\n", id)
		return nil
	}
	return usageErrorf("unknown key command %q", args[0])
}
