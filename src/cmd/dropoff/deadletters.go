package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dropoff-dev/dropoff/src/httpapi"
)

// deadletters is `dropoff deadletters list | show SEQ | resubmit SEQ |
// purge --yes`: the admin API's dead-letter routes from a terminal, against
// a running worker (or all-in-one process), with the same authentication.
func deadletters(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: dropoff deadletters list [--from SEQ] | show SEQ | resubmit SEQ | purge --yes  [--url URL] [--token TOKEN]")
		return flag.ErrHelp
	}
	action, args := args[0], args[1:]
	fs := flag.NewFlagSet("dropoff deadletters "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url, token := adminFlags(fs, getenv, "the worker's (or all-in-one process's) base URL")
	from := fs.Int64("from", 0, "list: the first sequence number")
	yes := fs.Bool("yes", false, "purge: yes, remove every dead letter")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	c := adminClient{base: *url + "/admin/v1/deadletters", token: *token}
	switch action {
	case "list":
		if len(positional) > 0 {
			return fmt.Errorf("deadletters list: unexpected argument %q", positional[0])
		}
		return c.list(ctx, *from, stdout)
	case "show", "resubmit":
		if len(positional) != 1 {
			return fmt.Errorf("deadletters %s: want one sequence number", action)
		}
		seq, err := strconv.ParseInt(positional[0], 10, 64)
		if err != nil || seq < 0 {
			return fmt.Errorf("deadletters %s: %q is not a sequence number", action, positional[0])
		}
		if action == "show" {
			return c.show(ctx, seq, stdout)
		}
		if err := c.do(ctx, http.MethodPost, fmt.Sprintf("/%d/resubmit", seq), nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d resubmitted to its session\n", seq)
		return nil
	case "purge":
		if !*yes {
			return errors.New("deadletters purge removes every dead letter for good; say --yes")
		}
		var out struct{ Purged int }
		if err := c.do(ctx, http.MethodDelete, "", &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "purged %d dead letters\n", out.Purged)
		return nil
	}
	return fmt.Errorf("deadletters: unknown action %q (want list, show, resubmit or purge)", action)
}

// parseInterspersed parses args with fs, flags before and after the
// positional arguments alike (show 17 --url …), and returns the positional
// ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
}

// adminFlags defines --url and --token, where the admin API is and the token
// it is called with, on fs, each falling back to its environment variable.
func adminFlags(fs *flag.FlagSet, getenv func(string) string, urlUsage string) (url, token *string) {
	url = fs.String("url", cmp.Or(getenv("DROPOFF_URL"), "http://127.0.0.1:8080"), urlUsage+" [DROPOFF_URL]")
	token = fs.String("token", getenv("DROPOFF_TOKEN"), "an access token holding the admin app role (e.g. az account get-access-token --scope api://<app>/.default); empty: none, which a process without authentication accepts from loopback only [DROPOFF_TOKEN]")
	return url, token
}

// adminClient calls the admin API's routes under base (the dead letters',
// the lab's). name prefixes its errors (default "deadletters").
type adminClient struct{ base, token, name string }

// list prints every dead letter from from on, a page at a time.
func (c adminClient) list(ctx context.Context, from int64, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tMESSAGE\tSESSION\tSUBJECT\tDELIVERIES\tREASON\tDESCRIPTION")
	for {
		var page httpapi.DeadLetterPage
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("?from=%d&limit=200", from), &page); err != nil {
			return err
		}
		for _, d := range page.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.SequenceNumber, d.MessageID, d.SessionID, d.Subject,
				d.DeliveryCount, d.DeadLetterReason, d.DeadLetterDescription)
		}
		if page.NextFrom == 0 {
			return tw.Flush()
		}
		from = page.NextFrom
	}
}

// show prints one dead letter as the API gives it.
func (c adminClient) show(ctx context.Context, seq int64, stdout io.Writer) error {
	var d json.RawMessage
	if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/%d", seq), &d); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, d, "", "  "); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, out.String())
	return err
}

// do sends one request and decodes a JSON answer into out (nil: none). A
// problem answer becomes an error saying what the API said.
func (c adminClient) do(ctx context.Context, method, path string, out any) error {
	return c.send(ctx, method, path, nil, out)
}

// send is do with a JSON body, in (nil: none).
func (c adminClient) send(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := cmp.Or(c.name, "deadletters")
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: encode the request: %w", name, err)
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s: read the answer: %w", name, err)
	}
	if resp.StatusCode >= 300 {
		var p httpapi.Problem
		if json.Unmarshal(body, &p) == nil && p.Detail != "" {
			return fmt.Errorf("%s: %s %s: %d %s: %s", name, method, req.URL.Path, resp.StatusCode, p.Title, p.Detail)
		}
		return fmt.Errorf("%s: %s %s: HTTP %d", name, method, req.URL.Path, resp.StatusCode)
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	return json.Unmarshal(body, out)
}
