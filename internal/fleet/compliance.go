package fleet

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/catalog"
)

// Tally counts computers by their state for one update (or summed over
// updates), with the restarts and downtime installing cost them.
type Tally struct {
	Installed     int   `json:"installed"`
	Needed        int   `json:"needed"`
	Downloaded    int   `json:"downloaded"`
	Failed        int   `json:"failed"`
	NotApplicable int   `json:"not_applicable"`
	Restarts      int   `json:"restarts"`
	DowntimeMin   int64 `json:"downtime_minutes"`
	downtime      time.Duration
}

func (t *Tally) add(state string, r *Report) {
	switch state {
	case StateInstalled:
		t.Installed++
	case StateNeeded:
		t.Needed++
	case StateDownloaded:
		t.Downloaded++
	case StateFailed:
		t.Failed++
	default:
		t.NotApplicable++
	}
	if r != nil {
		t.Restarts += r.Restarts
		t.downtime += r.Downtime
		t.DowntimeMin = int64(t.downtime / time.Minute)
	}
}

// Compliant is the share of computers the update applies to that have it.
func (t Tally) Compliant() float64 {
	n := t.Installed + t.Needed + t.Downloaded + t.Failed
	if n == 0 {
		return 1
	}
	return float64(t.Installed) / float64(n)
}

// UpdateCompliance is one update's state across the fleet and per group.
type UpdateCompliance struct {
	Update  Update           `json:"-"`
	ID      int64            `json:"update"`
	Product string           `json:"product"`
	Version string           `json:"version"`
	Tally   Tally            `json:"all"`
	Groups  map[string]Tally `json:"groups"`
}

// GroupCompliance is one group's state, summed over updates.
type GroupCompliance struct {
	Group     string `json:"group"`
	Computers int    `json:"computers"`
	Tally     Tally  `json:"all"`
}

// ComputerCompliance is one computer's state of every update.
type ComputerCompliance struct {
	Computer Computer         `json:"-"`
	ID       int64            `json:"computer"`
	Name     string           `json:"name"`
	Group    string           `json:"group"`
	LastSeen time.Time        `json:"last_seen"`
	States   map[int64]string `json:"states"`
	// Why holds the agent's reason for each failed update: what to fix.
	Why   map[int64]string `json:"why,omitempty"`
	Tally Tally            `json:"all"`
}

// Compliance is the whole fleet's state, as of At.
type Compliance struct {
	At        time.Time            `json:"at"`
	Updates   []UpdateCompliance   `json:"updates"`
	Groups    []GroupCompliance    `json:"groups"`
	Computers []ComputerCompliance `json:"computers"`
}

// Compliance computes every active computer's state of every update from
// its last reported inventory and reports. It reads the whole fleet: for
// pages and exports, never for check-ins.
func (s *Service) Compliance(ctx context.Context) (Compliance, error) {
	v, err := s.current(ctx)
	if err != nil {
		return Compliance{}, err
	}
	// Last-seen times are folded in from the check-in log on demand, so
	// the page is current without each check-in rewriting its computer.
	if _, err := s.store.FoldCheckins(ctx); err != nil {
		return Compliance{}, err
	}
	cs, err := s.store.Computers(ctx)
	if err != nil {
		return Compliance{}, err
	}
	rs, err := s.store.Reports(ctx, "")
	if err != nil {
		return Compliance{}, err
	}
	reports := map[[2]int64]*Report{}
	for i := range rs {
		reports[[2]int64{rs[i].Computer, rs[i].Update}] = &rs[i]
	}
	// superseding[update id] = versions that replace it.
	superseding := map[int64]map[string]bool{}
	for _, u := range v.updates {
		for _, old := range u.Supersedes {
			for _, o := range v.updates {
				if o.Product == u.Product && o.Version == old {
					if superseding[o.ID] == nil {
						superseding[o.ID] = map[string]bool{}
					}
					superseding[o.ID][u.Version] = true
				}
			}
		}
	}
	out := Compliance{At: s.now()}
	groups := map[string]*GroupCompliance{}
	groupNames := []string{}
	for _, g := range append([]Group{unassigned}, v.groups...) {
		groups[g.Name] = &GroupCompliance{Group: g.Name}
		groupNames = append(groupNames, g.Name)
	}
	ucs := make([]UpdateCompliance, len(v.updates))
	for i, u := range v.updates {
		ucs[i] = UpdateCompliance{Update: u, ID: u.ID, Product: u.Product, Version: u.Version, Groups: map[string]Tally{}}
	}
	for _, c := range cs {
		if !c.Retired.IsZero() {
			continue
		}
		gname := v.group(c.Group).Name
		gc := groups[gname]
		gc.Computers++
		inv := make(map[string]string, len(c.Inventory))
		for _, it := range c.Inventory {
			inv[it.Product] = it.Version
		}
		cc := ComputerCompliance{Computer: c, ID: c.ID, Name: c.Name, Group: gname, LastSeen: c.LastSeen, States: map[int64]string{}}
		for i, u := range v.updates {
			r := reports[[2]int64{c.ID, u.ID}]
			reported := ""
			if r != nil {
				reported = r.State
			}
			sup := superseding[u.ID]
			st := State(u, inv[u.Product], func(ver string) bool { return sup[ver] }, reported)
			cc.States[u.ID] = st
			if st == StateFailed && r != nil && r.Detail != "" {
				if cc.Why == nil {
					cc.Why = map[int64]string{}
				}
				cc.Why[u.ID] = r.Detail
			}
			cc.Tally.add(st, r)
			ucs[i].Tally.add(st, r)
			t := ucs[i].Groups[gname]
			t.add(st, r)
			ucs[i].Groups[gname] = t
			gc.Tally.add(st, r)
		}
		out.Computers = append(out.Computers, cc)
	}
	out.Updates = ucs
	for _, n := range groupNames {
		out.Groups = append(out.Groups, *groups[n])
	}
	return out, nil
}

// WriteCSV writes one row per computer and update: the export auditors
// ask for.
func (c Compliance) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"computer", "name", "group", "last_seen", "update", "product", "version", "state", "why"})
	for _, cc := range c.Computers {
		for _, u := range c.Updates {
			if err := cw.Write([]string{strconv.FormatInt(cc.ID, 10), csvSafe(cc.Name), cc.Group, cc.LastSeen.UTC().Format(time.RFC3339),
				strconv.FormatInt(u.ID, 10), csvSafe(u.Product), csvSafe(u.Version), cc.States[u.ID], csvSafe(cc.Why[u.ID])}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula: host
// names come from the computers themselves.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// TargetsCatalog reads the updates from the newest signed targets
// metadata in a store: the server's own, or the mirrored upstream's.
type TargetsCatalog struct {
	Metadata interface {
		TUF(ctx context.Context, role string, version int64) ([]byte, error)
	}
	mu   sync.Mutex
	last []byte
	us   []Update
}

// Updates returns the updates the signed targets name.
func (t *TargetsCatalog) Updates(ctx context.Context) ([]Update, error) {
	b, err := t.Metadata.TUF(ctx, "targets", 0)
	if errors.Is(err, patchday.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if string(b) == string(t.last) {
		return append([]Update(nil), t.us...), nil
	}
	md, err := metadata.Targets().FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("read the signed targets: %w", err)
	}
	us, err := UpdatesFromTargets(md.Signed.Targets)
	if err != nil {
		return nil, err
	}
	t.last, t.us = b, us
	return append([]Update(nil), us...), nil
}

// UpdatesFromTargets groups TUF targets into updates by their custom
// metadata: each update's payload and its deltas.
func UpdatesFromTargets(targets map[string]*metadata.TargetFiles) ([]Update, error) {
	byID := map[int64]*Update{}
	paths := make([]string, 0, len(targets))
	for p := range targets {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		tf := targets[p]
		if tf.Custom == nil {
			continue
		}
		var c catalog.Custom
		if err := json.Unmarshal(*tf.Custom, &c); err != nil {
			return nil, fmt.Errorf("target %s: custom metadata: %w", p, err)
		}
		if c.Update <= 0 || c.Product == "" || c.Version == "" {
			continue
		}
		u := byID[c.Update]
		if u == nil {
			u = &Update{ID: c.Update, Product: c.Product, Version: c.Version, AppliesTo: c.AppliesTo, Classification: c.Classification,
				Severity: c.Severity, Supersedes: c.Supersedes, Restart: c.Restart, Deltas: map[string]Target{}}
			byID[c.Update] = u
		}
		t := Target{Path: p, Size: tf.Length}
		if h, ok := tf.Hashes["sha256"]; ok {
			t.SHA256 = fmt.Sprintf("%x", []byte(h))
		}
		switch c.Kind {
		case "payload":
			u.Full = t
		case "delta":
			u.Deltas[c.From] = t
		}
	}
	out := make([]Update, 0, len(byID))
	for _, u := range byID {
		if u.Full.Path != "" {
			out = append(out, *u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
