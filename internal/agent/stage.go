package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/payload"
)

// stage makes sure every assignment is downloaded, verified and ready to
// install, and returns those that are, in assignment order. An assignment
// that cannot be staged is reported as failed, with the reason, and left
// out; the others go on.
func (a *Agent) stage(ctx context.Context, as []agentapi.Assignment, inv []agentapi.Item) ([]Staged, error) {
	st, err := a.st.staged()
	if err != nil {
		return nil, err
	}
	in, err := a.st.installed()
	if err != nil {
		return nil, err
	}
	have := map[string]string{}
	for _, it := range inv {
		have[it.Product] = it.Version
	}
	// Staged payloads no longer assigned (withdrawn, superseded) go.
	for id := range st {
		if !slices.ContainsFunc(as, func(x agentapi.Assignment) bool { return x.Update == id }) {
			a.dropStaged(st, id)
			if err := a.st.write(stagedFile, st); err != nil {
				return nil, err
			}
		}
	}
	var up *updater.Updater
	var batch []Staged
	var reports []agentapi.Report
	for _, x := range as {
		if s, ok := st[x.Update]; ok {
			if s.From == have[x.Product] {
				batch = append(batch, s)
				continue
			}
			a.dropStaged(st, x.Update) // staged over a version no longer installed
		}
		if up == nil {
			if up, err = a.catalog(ctx); err != nil {
				return nil, a.refused(err, as)
			}
		}
		s, err := a.stageOne(ctx, up, x, have[x.Product], in)
		if err != nil {
			var r *refusal
			if !errors.As(err, &r) {
				// Not the update's fault (the network, the disk): try again later.
				a.log.Warn("could not stage an update; trying again at the next check-in", "update", x.Update, "product", x.Product, "err", err)
				continue
			}
			a.log.Error("refused an update", "update", x.Update, "product", x.Product, "version", x.Version, "why", r.reason)
			if a.reported[x.Update] != r.reason {
				a.reported[x.Update] = r.reason
				reports = append(reports, agentapi.Report{Update: x.Update, State: agentapi.Failed, Detail: r.reason, At: a.now()})
			}
			continue
		}
		st[x.Update] = s
		if err := a.st.write(stagedFile, st); err != nil {
			return nil, err
		}
		a.log.Info("staged", "update", s.Update, "product", s.Product, "version", s.Version, "route", s.Route,
			"fetched", s.Fetched, "full", s.FullSize)
		if s.Action == agentapi.ActionInstall {
			reports = append(reports, agentapi.Report{Update: s.Update, State: agentapi.Downloaded, At: a.now()})
		}
		batch = append(batch, s)
	}
	if len(reports) > 0 {
		if err := a.st.queue(reports...); err != nil {
			return nil, err
		}
	}
	return batch, nil
}

// refused reports every assignment as failed when the catalog itself does
// not verify: nothing can be installed from it.
func (a *Agent) refused(err error, as []agentapi.Assignment) error {
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	a.log.Error("the signed catalog was refused; installing nothing", "why", r.reason)
	var rs []agentapi.Report
	for _, x := range as {
		if a.reported[x.Update] != r.reason {
			a.reported[x.Update] = r.reason
			rs = append(rs, agentapi.Report{Update: x.Update, State: agentapi.Failed, Detail: r.reason, At: a.now()})
		}
	}
	if len(rs) > 0 {
		return a.st.queue(rs...)
	}
	return nil
}

// stageOne checks an assignment against the signed catalog and fetches it
// by the smallest route: a delta from the installed version, applied to
// the installed files, else the full payload.
func (a *Agent) stageOne(ctx context.Context, up *updater.Updater, x agentapi.Assignment, installed string, in Installed) (Staged, error) {
	full, err := lookup(up, x.Full)
	if err != nil {
		return Staged{}, err
	}
	m := full.Meta
	if m.Kind != "payload" || m.Product != x.Product || m.Version != x.Version {
		return Staged{}, refuse("%s is signed as %s %s %s, not the payload of %s %s", x.Full, m.Kind, m.Product, m.Version, x.Product, x.Version)
	}
	s := Staged{Update: x.Update, Action: x.Action, Product: m.Product, Version: m.Version, From: installed, Restart: m.Restart, FullSize: full.Length}
	if x.Action == agentapi.ActionRemove {
		if installed != m.Version {
			return Staged{}, refuse("%s %s is to be removed, but %q is installed", m.Product, m.Version, installed)
		}
		s.Route = "none"
		return s, nil
	}
	if x.Action != agentapi.ActionInstall {
		return Staged{}, refuse("unknown action %q", x.Action)
	}
	// Anti-rollback: the vendor must have signed that this version goes
	// over the installed one, and a version the agent left behind comes
	// back only by the vendor's signed rollback directive.
	if !slices.Contains(m.AppliesTo, installed) {
		return Staged{}, refuse("the signed catalog does not let %s %s install over %s", m.Product, m.Version, describe(installed))
	}
	if in.had(m.Product, m.Version) && !m.Rollback {
		return Staged{}, refuse("%s %s is older than the installed %s (it was installed before and replaced); refused without a signed rollback directive",
			m.Product, m.Version, installed)
	}
	out := a.st.path(stageDir, strconv.FormatInt(x.Update, 10)+".payload")
	if x.Target != "" && x.Target != x.Full && installed != "" {
		d, err := lookup(up, x.Target)
		if err == nil && d.Meta.Kind == "delta" && d.Meta.Product == m.Product && d.Meta.Version == m.Version && d.Meta.From == installed {
			fetched, err := a.viaDelta(ctx, d, out)
			s.Fetched += fetched
			if err == nil {
				s.Route, s.Payload = "delta", stageDir+"/"+strconv.FormatInt(x.Update, 10)+".payload"
				return s, nil
			}
			a.log.Warn("the delta did not apply; fetching the full payload", "update", x.Update, "err", err)
		}
	}
	_, fetched, err := a.download(ctx, full)
	s.Fetched += fetched
	if err != nil {
		return Staged{}, err
	}
	s.Route, s.Payload = "full", downloadDir+"/"+full.SHA256
	return s, nil
}

// viaDelta downloads a verified delta and applies it to the installed
// files, writing the new version's payload to out. The files it makes are
// checked against the manifest inside the signed delta.
func (a *Agent) viaDelta(ctx context.Context, d signed, out string) (int64, error) {
	file, fetched, err := a.download(ctx, d)
	if err != nil {
		return fetched, err
	}
	in, err := os.Open(file)
	if err != nil {
		return fetched, err
	}
	defer in.Close()
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fetched, err
	}
	_, err = payload.ApplyDelta(ctx, in, a.root.FS(), f, payload.Limits{})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return fetched, fmt.Errorf("apply %s: %w", d.Path, err)
	}
	os.Remove(file) // the delta has served its purpose
	return fetched, nil
}

// dropStaged forgets a staged update and deletes its payload.
func (a *Agent) dropStaged(st map[int64]Staged, id int64) {
	s, ok := st[id]
	if !ok {
		return
	}
	if s.Payload != "" {
		os.Remove(a.st.path(s.Payload))
	}
	delete(st, id)
}

func describe(version string) string {
	if version == "" {
		return "an absent product"
	}
	return version
}
