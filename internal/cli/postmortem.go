package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/client"
)

// Post-mortems, tenets and training reports over the JSON API.

// refusal is a refusal from the server that names problems by field: its
// message reads one problem per line, so a long draft's mistakes can be
// fixed one by one.
type refusal struct{ err *client.Error }

func (r refusal) Error() string {
	keys := make([]string, 0, len(r.err.Fields))
	for k := range r.err.Fields {
		keys = append(keys, k)
	}
	// The server's message ends with the problems on one line
	// ("…: cwe: …; team: …", by sorted key); they follow here one by one.
	slices.Sort(keys)
	inline := make([]string, len(keys))
	for i, k := range keys {
		inline[i] = k + ": " + r.err.Fields[k]
	}
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(r.err.Message, ": "+strings.Join(inline, "; ")))
	slices.SortFunc(keys, compareFields)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s: %s", k, r.err.Fields[k])
	}
	return b.String()
}

func (r refusal) Unwrap() error { return r.err }

// apiError returns err with its field problems one per line when the
// server named any.
func apiError(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) && len(ce.Fields) > 0 {
		return refusal{ce}
	}
	return err
}

// compareFields orders field names with numbered parts by number:
// actions.2.due before actions.10.what.
func compareFields(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		switch {
		case errx == nil && erry == nil && x != y:
			return x - y
		case (errx != nil || erry != nil) && as[i] != bs[i]:
			return strings.Compare(as[i], bs[i])
		}
	}
	return len(as) - len(bs)
}

func postMortemCmd(e *env) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "postmortem",
		Short: "Read, edit and review a case's post-mortem over the JSON API",
		Long: `Read, edit and review the post-mortem of a case on a running server,
through its JSON API. A released case closes only once its post-mortem is
complete; drafts may be saved as they are written.`,
	}
	api.register(cmd)

	var asJSON bool
	show := &cobra.Command{
		Use:   "show CASE [--json]",
		Short: "Show a case's post-mortem: its fields, what is missing, the comments",
		Example: `  patchday postmortem show PD-2026-0001
  patchday postmortem show PD-2026-0001 --json > pm.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			pm, err := c.PostMortem(cmd.Context(), args[0])
			if err != nil {
				return apiError(err)
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(pm)
			}
			return printPostMortem(e.stdout, pm)
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print the post-mortem as JSON (which 'postmortem edit' reads back)")

	var file string
	edit := &cobra.Command{
		Use:   "edit CASE --file DRAFT.json",
		Short: "Save a new revision of a case's post-mortem from a JSON file",
		Long: `Save a new revision of a case's post-mortem from a JSON object with the
fields root_cause, cwe, component, team, introduced_version,
introduced_commit, how_found, why_missed, tenet (the tenet's id), actions
([{"what", "owner", "due": "YYYY-MM-DD", "done"}]) and revision.

The file is the whole post-mortem: a field left out is saved empty. The
output of 'postmortem show --json' can be edited and saved as it is; its
read-only fields are ignored. With a revision, the save is refused if
someone saved a newer one since; without one (or 0), the current revision
is fetched first and saved over.

A draft may be incomplete; what it says must be well-formed, and every
problem is named by field.`,
		Example: `  patchday postmortem show PD-2026-0001 --json > pm.json
  $EDITOR pm.json
  patchday postmortem edit PD-2026-0001 --file pm.json
  echo '{"root_cause": "…", "cwe": "CWE-787"}' | patchday postmortem edit PD-2026-0001 --file -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := readDraft(e, file)
			if err != nil {
				return err
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			fromFile := d.Revision != 0
			if !fromFile {
				cur, err := c.PostMortem(cmd.Context(), args[0])
				if err != nil {
					return apiError(err)
				}
				d.Revision = cur.Revision
			}
			pm, err := c.SavePostMortem(cmd.Context(), args[0], d)
			var ce *client.Error
			if fromFile && errors.As(err, &ce) && ce.Status == http.StatusConflict {
				return fmt.Errorf("%w\n(the file edits revision %d: start again from 'patchday postmortem show %s --json', or drop \"revision\" from the file to save over the newer one)",
					err, d.Revision, args[0])
			}
			if err != nil {
				return apiError(err)
			}
			if pm.Complete {
				_, err = fmt.Fprintf(e.stdout, "saved revision %d; complete\n", pm.Revision)
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "saved revision %d; still missing: %s\n", pm.Revision, gapList(pm.Missing))
			return err
		},
	}
	edit.Flags().StringVarP(&file, "file", "f", "", "the JSON draft to save; - for standard input (required)")
	_ = edit.MarkFlagRequired("file")

	comment := &cobra.Command{
		Use:   "comment CASE TEXT...",
		Short: "Comment on a case's post-mortem (any staff member may review)",
		Example: `  patchday postmortem comment PD-2026-0001 "Why did the fuzzer not reach this parser?"
  patchday postmortem comment PD-2026-0001 - < review.txt`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args[1:], " ")
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
				if err != nil {
					return fmt.Errorf("read the comment: %w", err)
				}
				text = string(b)
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			cm, err := c.CommentPostMortem(cmd.Context(), args[0], text)
			if err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(e.stdout, "comment %d added to the post-mortem of %s\n", cm.ID, strings.ToUpper(args[0]))
			return err
		},
	}
	cmd.AddCommand(show, edit, comment)
	return cmd
}

// draftFile is what 'postmortem edit' reads: the draft's fields, with the
// tenet as its id or as the object 'show --json' prints, and the
// read-only fields of 'show --json' accepted so they can stay in the file.
type draftFile struct {
	RootCause         string                    `json:"root_cause"`
	CWE               string                    `json:"cwe"`
	Component         string                    `json:"component"`
	Team              string                    `json:"team"`
	IntroducedVersion string                    `json:"introduced_version"`
	IntroducedCommit  string                    `json:"introduced_commit"`
	HowFound          string                    `json:"how_found"`
	WhyMissed         string                    `json:"why_missed"`
	Tenet             json.RawMessage           `json:"tenet"`
	Actions           []client.PostMortemAction `json:"actions"`
	Revision          int                       `json:"revision"`

	Case      json.RawMessage `json:"case"`
	Exists    json.RawMessage `json:"exists"`
	Complete  json.RawMessage `json:"complete"`
	CWEName   json.RawMessage `json:"cwe_name"`
	Author    json.RawMessage `json:"author"`
	EditedBy  json.RawMessage `json:"edited_by"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
	Missing   json.RawMessage `json:"missing"`
	Comments  json.RawMessage `json:"comments"`
}

// readDraft reads a draft from a file or, for "-", standard input.
func readDraft(e *env, name string) (client.PostMortemDraft, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return client.PostMortemDraft{}, usageError{fmt.Errorf("--file: %w", err)}
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return client.PostMortemDraft{}, fmt.Errorf("read the draft: %w", err)
	}
	if len(b) > 1<<20 {
		return client.PostMortemDraft{}, usageError{fmt.Errorf("--file: the draft is larger than the 1 MiB the server accepts")}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f draftFile
	if err := dec.Decode(&f); err != nil {
		return client.PostMortemDraft{}, usageError{fmt.Errorf("--file: not a post-mortem draft: %w", err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return client.PostMortemDraft{}, usageError{fmt.Errorf("--file: the draft must be exactly one JSON object")}
	}
	tenet, err := tenetID(f.Tenet)
	if err != nil {
		return client.PostMortemDraft{}, usageError{fmt.Errorf("--file: %w", err)}
	}
	return client.PostMortemDraft{RootCause: f.RootCause, CWE: f.CWE, Component: f.Component, Team: f.Team,
		IntroducedVersion: f.IntroducedVersion, IntroducedCommit: f.IntroducedCommit, HowFound: f.HowFound, WhyMissed: f.WhyMissed,
		TenetID: tenet, Actions: f.Actions, Revision: f.Revision}, nil
}

// tenetID reads a draft's tenet: an id, null, or a tenet object.
func tenetID(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var id int64
	if raw[0] == '{' {
		var t struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(raw, &t); err == nil {
			return t.ID, nil
		}
	} else if err := json.Unmarshal(raw, &id); err == nil {
		return id, nil
	}
	return 0, fmt.Errorf("tenet: %s is not a tenet's id ('patchday tenet list' shows them), nor null for none", raw)
}

// joinSet joins the parts that are not empty with ", ".
func joinSet(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), ", ")
}

func gapList(gaps []client.PostMortemGap) string {
	out := make([]string, len(gaps))
	for i, g := range gaps {
		out[i] = fmt.Sprintf("%s (%s)", g.Field, g.What)
	}
	return strings.Join(out, ", ")
}

// printPostMortem writes a post-mortem for people.
func printPostMortem(w io.Writer, pm client.PostMortem) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n", pm.Case.ID, pm.Case.Title)
	var about []string
	for _, x := range [][2]string{{"product", pm.Case.Product}, {"severity", pm.Case.Severity}} {
		if x[1] != "" {
			about = append(about, x[0]+" "+x[1])
		}
	}
	if !pm.Case.Released.IsZero() {
		about = append(about, "released "+pm.Case.Released.Format("2006-01-02"))
	}
	state := pm.Case.State
	if len(about) > 0 {
		state += " (" + strings.Join(about, ", ") + ")"
	}
	field := func(name, v string) {
		if v == "" {
			v = "-"
		}
		lines := strings.Split(strings.TrimRight(v, "\n"), "\n")
		fmt.Fprintf(&b, "%-20s%s\n", name+":", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "%-20s%s\n", "", l)
		}
	}
	field("case state", state)
	switch {
	case !pm.Exists:
		field("post-mortem", "not written yet; below is the start drawn from triage")
	case pm.Complete:
		field("post-mortem", fmt.Sprintf("complete, revision %d", pm.Revision))
	default:
		field("post-mortem", fmt.Sprintf("draft, revision %d (%d part(s) missing)", pm.Revision, len(pm.Missing)))
	}
	when := func(t time.Time, layout string) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(layout)
	}
	if pm.Exists {
		field("written by", joinSet(pm.Author, when(pm.CreatedAt, "2006-01-02")))
		field("last saved by", joinSet(pm.EditedBy, when(pm.UpdatedAt, "2006-01-02 15:04 UTC")))
	}
	field("root cause", pm.RootCause)
	cweText := pm.CWE
	if pm.CWEName != "" { // "CWE-787 Out-of-bounds Write"
		cweText = pm.CWEName
	}
	field("cwe", cweText)
	field("component", pm.Component)
	field("team", pm.Team)
	field("introduced version", pm.IntroducedVersion)
	field("introduced commit", pm.IntroducedCommit)
	field("how found", pm.HowFound)
	field("why missed", pm.WhyMissed)
	tenet := ""
	if pm.Tenet != nil {
		tenet = fmt.Sprintf("%s (tenet %d)", pm.Tenet.Title, pm.Tenet.ID)
		if pm.Tenet.Retired {
			tenet += ", retired"
		}
	}
	field("tenet", tenet)
	if len(pm.Actions) == 0 {
		field("actions", "")
	} else {
		b.WriteString("actions:\n")
		for _, a := range pm.Actions {
			done := " "
			if a.Done {
				done = "x"
			}
			fmt.Fprintf(&b, "  [%s] %s (owner %s, due %s)\n", done, a.What, a.Owner, a.Due)
		}
	}
	if len(pm.Missing) > 0 {
		b.WriteString("missing to be complete:\n")
		for _, g := range pm.Missing {
			fmt.Fprintf(&b, "  %s: %s\n", g.Field, g.What)
		}
	}
	if len(pm.Comments) > 0 {
		b.WriteString("comments:\n")
		for _, c := range pm.Comments {
			fmt.Fprintf(&b, "  %s  %s\n", c.At.UTC().Format("2006-01-02 15:04 UTC"), c.Author)
			for _, l := range strings.Split(strings.TrimRight(c.Body, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tenetCmd(e *env) *cobra.Command {
	var api apiFlags
	cmd := &cobra.Command{
		Use:   "tenet",
		Short: "List and edit the secure-coding tenets over the JSON API",
		Long: `List and edit the organisation's secure-coding tenets, which every
post-mortem cites one of. Retired tenets stay on the post-mortems that cite
them, but new ones cannot pick them. Editing needs the triager or admin
role.`,
	}
	api.register(cmd)

	list := &cobra.Command{
		Use: "list", Short: "List the tenets, retired ones too", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			ts, err := c.Tenets(cmd.Context())
			if err != nil {
				return apiError(err)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tTITLE")
			for _, t := range ts {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", t.ID, tenetStatus(t.Retired), t.Title)
			}
			return tw.Flush()
		},
	}

	var addDescription string
	add := &cobra.Command{
		Use:     "add TITLE [--description D]",
		Short:   "Add a tenet",
		Example: `  patchday tenet add "Check lengths before copying" --description "Every copy into a buffer is bounded by the buffer's size."`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := api.client()
			if err != nil {
				return err
			}
			t, err := c.AddTenet(cmd.Context(), client.TenetIn{Title: strings.Join(args, " "), Description: addDescription})
			if err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(e.stdout, "tenet %d added: %s\n", t.ID, t.Title)
			return err
		},
	}
	add.Flags().StringVar(&addDescription, "description", "", "what the tenet asks, in a sentence or two")

	var title, description string
	var retire, restore bool
	edit := &cobra.Command{
		Use:   "edit ID [--title T] [--description D] [--retire|--restore]",
		Short: "Rename, redescribe, retire or restore a tenet",
		Long: `Rename, redescribe, retire or restore a tenet; what is not given stays
as it is. Post-mortems cite tenets by id, so a rename carries over to them.`,
		Example: `  patchday tenet edit 3 --title "Bound every copy"
  patchday tenet edit 3 --retire`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("ID: %q is not a tenet id ('patchday tenet list' shows them)", args[0])}
			}
			fl := cmd.Flags()
			if retire && restore {
				return usageError{errors.New("--retire and --restore: give one of them")}
			}
			if !fl.Changed("title") && !fl.Changed("description") && !retire && !restore {
				return usageError{errors.New("nothing to change: give --title, --description, --retire or --restore")}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			ts, err := c.Tenets(cmd.Context())
			if err != nil {
				return apiError(err)
			}
			i := slices.IndexFunc(ts, func(t client.Tenet) bool { return t.ID == id })
			if i < 0 {
				return fmt.Errorf("there is no tenet %d ('patchday tenet list' shows them)", id)
			}
			in := client.TenetIn{Title: ts[i].Title, Description: ts[i].Description, Retired: ts[i].Retired}
			if fl.Changed("title") {
				in.Title = title
			}
			if fl.Changed("description") {
				in.Description = description
			}
			if retire || restore {
				in.Retired = retire
			}
			t, err := c.EditTenet(cmd.Context(), id, in)
			if err != nil {
				return apiError(err)
			}
			_, err = fmt.Fprintf(e.stdout, "tenet %d saved: %s (%s)\n", t.ID, t.Title, tenetStatus(t.Retired))
			return err
		},
	}
	edit.Flags().StringVar(&title, "title", "", "the new title")
	edit.Flags().StringVar(&description, "description", "", "the new description (\"\" to clear it)")
	edit.Flags().BoolVar(&retire, "retire", false, "retire the tenet: new post-mortems can no longer pick it")
	edit.Flags().BoolVar(&restore, "restore", false, "bring a retired tenet back")
	cmd.AddCommand(list, add, edit)
	return cmd
}

func tenetStatus(retired bool) string {
	if retired {
		return "retired"
	}
	return "current"
}

func trainingCmd(e *env) *cobra.Command {
	var api apiFlags
	var o client.TrainingOptions
	var format string
	cmd := &cobra.Command{
		Use:   "training [--team T] [--months N] [--format text|csv|json]",
		Short: "The secure-coding training report, from the complete post-mortems",
		Long: `The secure-coding training report: lessons of the complete post-mortems
counted per month by tenet, weakness (CWE, rolled up its hierarchy),
component and how the flaw was found, each row with its trend in lessons
per month, worst first. csv and json print the server's export as it is.`,
		Example: `  patchday training
  patchday training --team gateway --months 24
  patchday training --format csv > training.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "csv" && format != "json" {
				return usageError{fmt.Errorf("--format: %q is not text, csv or json", format)}
			}
			c, err := api.client()
			if err != nil {
				return err
			}
			if format != "text" {
				b, err := c.TrainingExport(cmd.Context(), o, format)
				if err != nil {
					return apiError(err)
				}
				_, err = e.stdout.Write(b)
				return err
			}
			rep, err := c.Training(cmd.Context(), o)
			if err != nil {
				return apiError(err)
			}
			return printTraining(e.stdout, rep)
		},
	}
	api.register(cmd)
	cmd.Flags().StringVar(&o.Team, "team", "", "only this team's post-mortems (default: the whole organisation)")
	cmd.Flags().IntVar(&o.Months, "months", 12, "how many months, up to this one, the report covers (1-60)")
	cmd.Flags().StringVar(&format, "format", "text", "text, or the server's csv or json export")
	return cmd
}

// printTraining writes a training report for people.
func printTraining(w io.Writer, rep client.TrainingReport) error {
	who := "the whole organisation"
	if rep.Team != "" {
		who = "team " + rep.Team
	}
	period := ""
	if n := len(rep.Months); n > 0 {
		period = fmt.Sprintf(", %s to %s", rep.Months[0], rep.Months[n-1])
	}
	fmt.Fprintf(w, "Training report for %s%s\nlessons: %d\n", who, period, rep.Lessons)
	titles := map[string]string{}
	for _, d := range rep.Dimensions {
		titles[d.Key] = d.Title
	}
	fmt.Fprintln(w, "\nWorst trends:")
	if len(rep.Worst) == 0 {
		fmt.Fprintln(w, "  nothing is rising")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  DIMENSION\tLABEL\tTOTAL\tTREND")
		for _, r := range rep.Worst {
			dim := titles[r.Dimension]
			if dim == "" {
				dim = r.Dimension
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", dim, r.Label, r.Total, trendText(r.Trend))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, d := range rep.Dimensions {
		fmt.Fprintf(w, "\n%s:\n", d.Title)
		if len(d.Rows) == 0 {
			fmt.Fprintln(w, "  no lessons")
			continue
		}
		// Rows come worst trend first, not as a tree: a rolled-up row
		// (CWE) names its parent rather than being indented under it.
		rolled := slices.ContainsFunc(d.Rows, func(r client.TrainingRow) bool { return len(r.Path) > 0 })
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if rolled {
			fmt.Fprintln(tw, "  LABEL\tTOTAL\tTREND\tUNDER")
		} else {
			fmt.Fprintln(tw, "  LABEL\tTOTAL\tTREND")
		}
		for _, r := range d.Rows {
			fmt.Fprintf(tw, "  %s\t%d\t%s", r.Label, r.Total, trendText(r.Trend))
			if rolled {
				under := "-"
				if len(r.Path) > 0 {
					under = r.Path[len(r.Path)-1]
				}
				fmt.Fprintf(tw, "\t%s", under)
			}
			fmt.Fprintln(tw)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// trendText writes a slope for people: "+0.5/month", "steady".
func trendText(v float64) string {
	if v == 0 {
		return "steady"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64) + "/month"
	if v > 0 {
		s = "+" + s
	}
	return s
}
