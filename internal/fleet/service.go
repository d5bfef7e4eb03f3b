package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/agentapi"
	"github.com/patchday/patchday/internal/audit"
)

// Config tunes the service; zero fields take the defaults in brackets.
type Config struct {
	Interval   time.Duration // between check-ins [1h]
	Soon       time.Duration // between check-ins while installing [5m]
	LeaseTime  time.Duration // a restart lease's length [30m]
	Refresh    time.Duration // how stale the in-memory view may be [2s]
	Committers int           // concurrent batch writers [1]
	Queue      int           // check-ins waiting to be written before the server says Retry-After [8192]
	BatchMax   int           // check-ins per transaction [1024]
	Retention  time.Duration // how long events are kept [90 days]
	StaleAfter time.Duration // retire computers not seen for this long; 0 never
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Interval, time.Hour)
	def(&c.Soon, 5*time.Minute)
	def(&c.LeaseTime, 30*time.Minute)
	def(&c.Refresh, 2*time.Second)
	def(&c.Retention, 90*24*time.Hour)
	if c.Committers <= 0 {
		c.Committers = 1
	}
	if c.Queue <= 0 {
		c.Queue = 8192
	}
	if c.BatchMax <= 0 {
		c.BatchMax = 1024
	}
}

// Catalog is where the updates come from: the signed targets, the
// server's own or mirrored.
type Catalog interface {
	Updates(ctx context.Context) ([]Update, error)
}

// Unassigned is the group of computers no group claims: they are seen and
// counted, but nothing is approved for them.
const Unassigned = "unassigned"

// RulesSetting names the auto-approval rules in the settings.
const RulesSetting = "auto-approval-rules"

// Service runs the fleet: enrollment, check-ins, groups, approvals,
// rules, rollouts and compliance.
type Service struct {
	store   Store
	catalog Catalog
	audit   audit.Store
	log     *slog.Logger
	now     func() time.Time
	cfg     Config

	view      atomic.Pointer[view]
	loadMu    sync.Mutex
	computers sync.Map // int64 → *cached
	queue     chan *pending
	trips     atomic.Int64
	overloads atomic.Int64
}

// view is what check-ins are answered from: rebuilt every Refresh and
// after every change an administrator makes, never per request.
type view struct {
	at        time.Time
	gen       uint64
	updates   []Update
	byID      map[int64]*Update
	groups    []Group
	groupByID map[int64]*Group
	approvals map[[2]int64]*Approval // by update, group
	rules     []Rule
}

func (v *view) group(id int64) *Group {
	if g, ok := v.groupByID[id]; ok {
		return g
	}
	return &unassigned
}

var unassigned = Group{Name: Unassigned, Policy: DefaultPolicy()}

// cached is what the server remembers of a computer between check-ins.
type cached struct {
	mu      sync.Mutex
	id      int64
	name    string
	labels  []string
	cred    [32]byte
	invHash uint64
	group   int64
	// storedGroup is the group the store has for the computer.
	storedGroup int64
	gen         uint64
	retired     bool
	checked     time.Time // when the store last said the computer is active
}

// recheck is how long a computer's credential is trusted from memory
// before the store is asked again whether it was retired (by another
// server sharing the database, say).
const recheck = time.Minute

type pending struct {
	c    Checkin
	done chan error
}

// NewService returns the fleet service. Run must be running for
// check-ins to be answered.
func NewService(s Store, c Catalog, a audit.Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, catalog: c, audit: a, log: log, now: now, cfg: cfg, queue: make(chan *pending, cfg.Queue)}
}

// Run writes check-ins in batches and keeps the view fresh until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Reload(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range s.cfg.Committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.commit(ctx)
		}()
	}
	t := time.NewTicker(s.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("fleet view not refreshed; answering from the previous one", "err", err)
			}
		}
	}
}

// Reload rebuilds the in-memory view from the store.
func (s *Service) Reload(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	v, err := s.load(ctx)
	if err != nil {
		return err
	}
	if old := s.view.Load(); old != nil {
		v.gen = old.gen + 1
	}
	s.view.Store(v)
	return nil
}

func (s *Service) load(ctx context.Context) (*view, error) {
	us, err := s.catalog.Updates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	seen := make([]Seen, len(us))
	for i, u := range us {
		seen[i] = Seen{Update: u.ID, Product: u.Product, Version: u.Version}
	}
	known, err := s.store.SeeUpdates(ctx, seen, s.now())
	if err != nil {
		return nil, err
	}
	first := map[int64]time.Time{}
	for _, k := range known {
		first[k.Update] = k.FirstSeen
	}
	v := &view{at: s.now(), updates: us, byID: map[int64]*Update{}, groupByID: map[int64]*Group{}, approvals: map[[2]int64]*Approval{}}
	for i := range v.updates {
		v.updates[i].FirstSeen = first[v.updates[i].ID]
		v.byID[v.updates[i].ID] = &v.updates[i]
	}
	if v.groups, err = s.store.Groups(ctx); err != nil {
		return nil, err
	}
	for i := range v.groups {
		v.groupByID[v.groups[i].ID] = &v.groups[i]
	}
	as, err := s.store.Approvals(ctx)
	if err != nil {
		return nil, err
	}
	for i := range as {
		v.approvals[[2]int64{as[i].Update, as[i].Group}] = &as[i]
	}
	rules, err := s.store.Setting(ctx, RulesSetting)
	switch {
	case errors.Is(err, patchday.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if v.rules, err = ParseRules([]byte(rules)); err != nil {
			return nil, fmt.Errorf("stored auto-approval rules: %w", err)
		}
	}
	return v, nil
}

func (s *Service) current(ctx context.Context) (*view, error) {
	if v := s.view.Load(); v != nil {
		return v, nil
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s.view.Load(), nil
}

// commit writes queued check-ins, as many per transaction as are waiting:
// under load a batch grows by itself, at rest each goes alone.
func (s *Service) commit(ctx context.Context) {
	batch := make([]*pending, 0, s.cfg.BatchMax)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case p := <-s.queue:
			batch = append(batch, p)
		}
	fill:
		for len(batch) < s.cfg.BatchMax {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		cs := make([]Checkin, len(batch))
		for i, p := range batch {
			cs[i] = p.c
		}
		errs, err := s.save(context.WithoutCancel(ctx), cs)
		for i, p := range batch {
			if err != nil {
				p.done <- err
			} else {
				p.done <- errs[i]
			}
		}
	}
}

// save writes check-ins (or the sweep's timeouts), counting each result
// that changes state in its rollout; a rollout whose brake trips is
// logged and audited once the batch is committed, and the view is
// rebuilt once so no further computer is offered the update.
func (s *Service) save(ctx context.Context, batch []Checkin) ([]error, error) {
	v := s.view.Load()
	var tripped []Approval
	errs, err := s.store.SaveCheckins(ctx, batch, func(a *Approval, r Report) {
		if v.group(a.Group).Policy.Record(&a.Rollout, r.Outcome, r.At) {
			tripped = append(tripped, *a)
		}
	})
	if err != nil || len(tripped) == 0 {
		return errs, err
	}
	for _, a := range tripped {
		g := v.group(a.Group)
		s.trips.Add(1)
		s.log.Warn("failure brake tripped: the rollout is paused until someone acknowledges the failures",
			"update", a.Update, "group", g.Name, "reason", a.Rollout.BrakeReason)
		s.audited(ctx, audit.System, "fleet.brake", fmt.Sprintf("approval:%d", a.ID),
			fmt.Sprintf("update %d in %s: %s", a.Update, g.Name, a.Rollout.BrakeReason))
	}
	if err := s.Reload(ctx); err != nil {
		s.log.Warn("fleet view not rebuilt after the brake tripped; it is at the next refresh", "err", err)
	}
	return errs, nil
}

// Enroll exchanges an enrollment token for the computer's own credential.
func (s *Service) Enroll(ctx context.Context, req agentapi.EnrollRequest) (agentapi.EnrollResponse, error) {
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the enrollment is incomplete", Fields: map[string]string{}}
	if !strings.HasPrefix(req.Token, tokenPrefix) {
		return agentapi.EnrollResponse{}, errBadToken
	}
	if req.Name == "" || len(req.Name) > 253 || strings.ContainsFunc(req.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		p.Fields["name"] = "give the computer's host name (1–253 printable characters), e.g. web-01.example.com"
	}
	if !word(req.OS) {
		p.Fields["os"] = "give the operating system as Go names it, e.g. linux"
	}
	if !word(req.Arch) {
		p.Fields["arch"] = "give the architecture as Go names it, e.g. amd64"
	}
	if err := checkLabels(req.Labels); err != nil {
		p.Fields["labels"] = err.Error()
	}
	if len(p.Fields) > 0 {
		return agentapi.EnrollResponse{}, p
	}
	secret := random(24)
	sum := sha256.Sum256([]byte(secret))
	c, err := s.store.Enroll(ctx, hashToken(req.Token), Computer{Name: req.Name, OS: req.OS, Arch: req.Arch, Labels: req.Labels, Enrolled: s.now()}, sum[:])
	if err != nil {
		return agentapi.EnrollResponse{}, err
	}
	s.log.Info("computer enrolled", "computer", c.ID, "name", c.Name, "token", c.Token)
	return agentapi.EnrollResponse{Computer: c.ID, Credential: fmt.Sprintf("%s%d.%s", credPrefix, c.ID, secret)}, nil
}

const (
	tokenPrefix = "pde_"
	credPrefix  = "pdc_"
)

var errBadToken = patchday.Errorf(patchday.ErrUnauthenticated, "the enrollment token is unknown, expired, revoked or used up; ask your administrator for a new one")

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func word(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func checkLabels(ls []string) error {
	if len(ls) > 32 {
		return errors.New("at most 32 labels")
	}
	for _, l := range ls {
		if len(l) == 0 || len(l) > 64 || strings.ContainsFunc(l, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.=:/", r))
		}) {
			return fmt.Errorf("label %q: use 1–64 of a-z 0-9 - _ . = : /, e.g. site=berlin", l)
		}
	}
	return nil
}

// MergeLabels returns a's labels followed by those of b it lacks.
func MergeLabels(a, b []string) []string {
	out := append([]string{}, a...)
	for _, l := range b {
		found := false
		for _, x := range out {
			found = found || x == l
		}
		if !found {
			out = append(out, l)
		}
	}
	return out
}

// CreateEnrollToken makes a token that enrolls up to uses computers until
// it expires, giving them labels. The token is returned once.
func (s *Service) CreateEnrollToken(ctx context.Context, by audit.Actor, note string, labels []string, uses int, ttl time.Duration) (string, EnrollToken, error) {
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the enrollment token cannot be made", Fields: map[string]string{}}
	if uses < 1 || uses > 10_000_000 {
		p.Fields["uses"] = "give how many computers may enroll with it, 1 to 10,000,000 (1 for a single machine)"
	}
	if ttl < time.Minute || ttl > 366*24*time.Hour {
		p.Fields["ttl"] = "give how long it stays valid, from 1m to 366 days, e.g. 72h"
	}
	if len(note) > 200 {
		p.Fields["note"] = "at most 200 characters"
	}
	if err := checkLabels(labels); err != nil {
		p.Fields["labels"] = err.Error()
	}
	if len(p.Fields) > 0 {
		return "", EnrollToken{}, p
	}
	token := tokenPrefix + random(24)
	now := s.now()
	t, err := s.store.CreateEnrollToken(ctx, EnrollToken{Note: note, Labels: labels, MaxUses: uses, Expires: now.Add(ttl), CreatedBy: by.Who, Created: now}, hashToken(token))
	if err != nil {
		return "", t, err
	}
	s.audited(ctx, by, "fleet.token.create", fmt.Sprintf("enroll-token:%d", t.ID), fmt.Sprintf("%d uses until %s %s", uses, t.Expires.Format(time.RFC3339), note))
	return token, t, nil
}

func (s *Service) audited(ctx context.Context, by audit.Actor, action, subject, detail string) {
	if s.audit == nil {
		return
	}
	if err := s.audit.AppendAudit(ctx, audit.New(by, s.now(), action, subject, detail)); err != nil {
		s.log.Error("audit", "action", action, "err", err)
	}
}

// ErrOverloaded is returned when check-ins arrive faster than they can be
// written: the agent should come back after RetryAfter.
var ErrOverloaded = patchday.Errorf(patchday.ErrTooManyRequests, "the server is busy; check in again later")

// RetryAfter is how long an agent turned away under load should wait: a
// spread, so the retries do not arrive together.
func (s *Service) RetryAfter(computer int64) time.Duration {
	return 10*time.Second + time.Duration(uint64(computer)*2654435761%50)*time.Second
}

// Authenticate checks an agent's credential and returns its computer.
func (s *Service) Authenticate(ctx context.Context, credential string) (int64, error) {
	c, err := s.auth(ctx, credential)
	if err != nil {
		return 0, err
	}
	return c.id, nil
}

var errCredential = patchday.Errorf(patchday.ErrUnauthenticated, "the computer's credential is not valid; enroll it again")

func (s *Service) auth(ctx context.Context, credential string) (*cached, error) {
	rest, ok := strings.CutPrefix(credential, credPrefix)
	if !ok {
		return nil, errCredential
	}
	idText, secret, ok := strings.Cut(rest, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 {
		return nil, errCredential
	}
	sum := sha256.Sum256([]byte(secret))
	now := s.now()
	var c *cached
	if x, ok := s.computers.Load(id); ok {
		c = x.(*cached)
		c.mu.Lock()
		stale := now.Sub(c.checked) > recheck
		c.mu.Unlock()
		if stale {
			comp, _, err := s.store.ComputerCredential(ctx, id)
			if err != nil && !errors.Is(err, patchday.ErrNotFound) {
				return nil, err
			}
			c.mu.Lock()
			c.retired, c.checked = err != nil || !comp.Retired.IsZero(), now
			c.mu.Unlock()
		}
	} else {
		comp, cred, err := s.store.ComputerCredential(ctx, id)
		if errors.Is(err, patchday.ErrNotFound) {
			return nil, errCredential
		} else if err != nil {
			return nil, err
		}
		c = &cached{id: id, name: comp.Name, labels: comp.Labels, retired: !comp.Retired.IsZero(), group: -1, checked: now,
			invHash: uint64(comp.InventoryHash), storedGroup: comp.Group}
		copy(c.cred[:], cred)
		if x, loaded := s.computers.LoadOrStore(id, c); loaded {
			c = x.(*cached)
		}
	}
	c.mu.Lock()
	retired := c.retired
	c.mu.Unlock()
	if subtle.ConstantTimeCompare(c.cred[:], sum[:]) != 1 || retired {
		return nil, errCredential
	}
	return c, nil
}

// maxInventory bounds one computer's inventory.
const maxInventory = 1000

// checkCheckin refuses a malformed check-in, naming every field at fault,
// and otherwise returns its inventory as product → installed version,
// which is what applicability is decided on.
func checkCheckin(req *agentapi.CheckinRequest, v *view) (map[string]string, error) {
	p := &patchday.Error{Kind: patchday.ErrInvalid, Message: "the check-in is malformed", Fields: map[string]string{}}
	if len(req.Inventory) > maxInventory {
		p.Fields["inventory"] = fmt.Sprintf("at most %d products", maxInventory)
	}
	inv := make(map[string]string, len(req.Inventory))
	for _, it := range req.Inventory {
		if it.Product == "" || len(it.Product) > 200 || it.Version == "" || len(it.Version) > 200 {
			p.Fields["inventory"] = fmt.Sprintf("product %q version %q: each needs a product and a version of at most 200 bytes", it.Product, it.Version)
			break
		}
		if _, dup := inv[it.Product]; dup {
			p.Fields["inventory"] = fmt.Sprintf("product %q is listed twice; report one installed version per product", it.Product)
			break
		}
		inv[it.Product] = it.Version
	}
	if len(req.Reports) > 500 {
		p.Fields["reports"] = "at most 500 reports per check-in; send the rest next time"
	}
	for _, r := range req.Reports {
		switch r.State {
		case agentapi.Downloaded, agentapi.Installing, agentapi.Installed, agentapi.Failed, agentapi.Removed:
		default:
			p.Fields["reports"] = fmt.Sprintf("update %d: state %q is not one of downloaded, installing, installed, failed, removed", r.Update, r.State)
		}
		if _, ok := v.byID[r.Update]; !ok && p.Fields["reports"] == "" {
			p.Fields["reports"] = fmt.Sprintf("update %d is not in this server's catalog", r.Update)
		}
		if len(r.Detail) > 2000 || r.Restarts < 0 || r.Restarts > 100 || r.Downtime < 0 || r.At.IsZero() {
			p.Fields["reports"] = fmt.Sprintf("update %d: give the time, a detail of at most 2000 bytes, and restarts and downtime that are not negative", r.Update)
		}
	}
	if req.OS != "" && !word(req.OS) || req.Arch != "" && !word(req.Arch) {
		p.Fields["os"] = "give os and arch as Go names them, e.g. linux and amd64"
	}
	if len(p.Fields) > 0 {
		return nil, p
	}
	return inv, nil
}

// inventoryHash is FNV-1a of os, arch and the inventory in product order:
//
//	os 0 arch 0 (product 0 version 1)…
//
// It is stored with the inventory, so it must not change between releases
// (a change costs one extra inventory write per computer, nothing more).
// Written out rather than through hash/fnv, which would copy every string
// to bytes: this runs on every check-in.
func inventoryHash(inv map[string]string, os, arch string) uint64 {
	var products [64]string
	keys := products[:0]
	for p := range inv {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	h := fnvString(fnvOffset, os)
	h = fnvByte(h, 0)
	h = fnvString(h, arch)
	h = fnvByte(h, 0)
	for _, p := range keys {
		h = fnvString(h, p)
		h = fnvByte(h, 0)
		h = fnvString(h, inv[p])
		h = fnvByte(h, 1)
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// Checkin records what a computer reports, once it is durable, and
// answers what to do and when to come back.
func (s *Service) Checkin(ctx context.Context, credential string, req agentapi.CheckinRequest) (agentapi.CheckinResponse, error) {
	c, err := s.auth(ctx, credential)
	if err != nil {
		return agentapi.CheckinResponse{}, err
	}
	v, err := s.current(ctx)
	if err != nil {
		return agentapi.CheckinResponse{}, err
	}
	inv, err := checkCheckin(&req, v)
	if err != nil {
		return agentapi.CheckinResponse{}, err
	}
	now := s.now()
	h := inventoryHash(inv, req.OS, req.Arch)
	c.mu.Lock()
	if c.gen != v.gen || c.group < 0 {
		group := int64(0)
		if g, ok := Resolve(v.groups, c.name, c.labels); ok {
			group = g.ID
		}
		if group != c.storedGroup {
			c.invHash = 0 // write the group with the inventory
		}
		c.group, c.gen = group, v.gen
	}
	group := c.group
	changed := h != c.invHash
	c.mu.Unlock()

	in := Checkin{Computer: c.id, At: now, Group: group, OS: req.OS, Arch: req.Arch, DropLease: req.Done}
	if changed {
		in.InventoryHash = int64(h)
		in.Inventory = make([]Item, len(req.Inventory))
		for i, it := range req.Inventory {
			in.Inventory[i] = Item{Product: it.Product, Version: it.Version}
		}
	}
	for _, r := range req.Reports {
		rep := Report{Update: r.Update, State: r.State, Detail: r.Detail, At: r.At.UTC(), Restarts: r.Restarts, Downtime: time.Duration(r.Downtime) * time.Second}
		switch r.State {
		case agentapi.Installed:
			rep.Counts, rep.Outcome = true, OutcomeSucceeded
		case agentapi.Failed:
			rep.Counts, rep.Outcome = true, OutcomeFailed
		}
		in.Reports = append(in.Reports, rep)
	}
	p := &pending{c: in, done: make(chan error, 1)}
	select {
	case s.queue <- p:
	default:
		s.overloads.Add(1)
		// The computer's id spreads the retries (RetryAfter).
		return agentapi.CheckinResponse{Computer: c.id}, ErrOverloaded
	}
	select {
	case err = <-p.done:
	case <-ctx.Done():
		return agentapi.CheckinResponse{}, ctx.Err()
	}
	if errors.Is(err, patchday.ErrUnauthenticated) {
		c.mu.Lock()
		c.retired = true
		c.mu.Unlock()
		return agentapi.CheckinResponse{Computer: c.id, Retired: true}, err
	} else if err != nil {
		return agentapi.CheckinResponse{}, err
	}
	if changed {
		c.mu.Lock()
		c.invHash, c.storedGroup = h, group
		c.mu.Unlock()
	}
	return s.answer(ctx, v, c.id, group, inv, req.Lease, now)
}

// answer decides, from the view alone, what the computer should do.
func (s *Service) answer(ctx context.Context, v *view, id, group int64, inv map[string]string, lease bool, now time.Time) (agentapi.CheckinResponse, error) {
	g := v.group(group)
	resp := agentapi.CheckinResponse{Computer: id, Group: g.Name, Next: int(s.cfg.Interval / time.Second), Updates: []agentapi.Assignment{}}
	key := strconv.FormatInt(id, 10)
	due := false
	offered := func(u Update) bool {
		a, ok := v.approvals[[2]int64{u.ID, group}]
		if !ok || a.Action != ActionInstall || now.Before(u.FirstSeen.Add(g.Policy.Cooldown)) || a.Rollout.Braked {
			return false
		}
		past := !a.Deadline.IsZero() && !now.Before(a.Deadline)
		return past || g.Policy.Offered(a.Rollout, key, rolloutKey(a))
	}
	if group != 0 {
		for _, u := range Offer(v.updates, inv, offered) {
			a := v.approvals[[2]int64{u.ID, group}]
			t, _ := u.Route(inv[u.Product])
			as := agentapi.Assignment{Update: u.ID, Action: ActionInstall, Product: u.Product, Version: u.Version, From: inv[u.Product],
				Target: t.Path, Full: u.Full.Path, Restart: u.Restart}
			if !a.Deadline.IsZero() {
				d := a.Deadline
				as.Deadline = &d
				due = due || !now.Before(d)
			}
			resp.Updates = append(resp.Updates, as)
		}
		for _, u := range v.updates {
			a, ok := v.approvals[[2]int64{u.ID, group}]
			if ok && a.Action == ActionRemove && inv[u.Product] == u.Version && !a.Rollout.Braked {
				resp.Updates = append(resp.Updates, agentapi.Assignment{Update: u.ID, Action: ActionRemove, Product: u.Product, Version: u.Version,
					From: u.Version, Full: u.Full.Path, Restart: u.Restart})
			}
		}
	}
	open := true
	if !g.Window.IsZero() {
		start, end, isOpen := g.Window.At(now)
		open = isOpen
		if !start.IsZero() {
			resp.Window = &agentapi.Window{Start: start, End: end, Open: isOpen}
		}
	}
	resp.Install = len(resp.Updates) > 0 && (open || due)
	switch {
	case resp.Install || lease:
		resp.Next = int(s.cfg.Soon / time.Second)
	case len(resp.Updates) > 0 && resp.Window != nil && resp.Window.Start.Sub(now) < s.cfg.Interval:
		resp.Next = max(60, int(resp.Window.Start.Sub(now)/time.Second))
	}
	if lease && (open || due) && group != 0 {
		ok, err := s.store.TakeRestartLease(ctx, id, group, g.Policy.MaxUnavailable, now, now.Add(s.cfg.LeaseTime))
		if err != nil {
			return resp, err
		}
		if ok {
			resp.Lease = &agentapi.Lease{Until: now.Add(s.cfg.LeaseTime)}
		}
	}
	return resp, nil
}

// Actions an approval may take.
const (
	ActionInstall = agentapi.ActionInstall
	ActionRemove  = agentapi.ActionRemove
)

func rolloutKey(a *Approval) string { return strconv.FormatInt(a.ID, 10) }

// DecodeGroup fills a group from its stored columns.
func DecodeGroup(g *Group, members, labels, rule string, d time.Duration, tz, policy string) error {
	if err := json.Unmarshal([]byte(members), &g.Members); err != nil {
		return fmt.Errorf("group %s members: %w", g.Name, err)
	}
	if err := json.Unmarshal([]byte(labels), &g.Labels); err != nil {
		return fmt.Errorf("group %s labels: %w", g.Name, err)
	}
	g.Policy = DefaultPolicy()
	if err := json.Unmarshal([]byte(policy), &g.Policy); err != nil {
		return fmt.Errorf("group %s policy: %w", g.Name, err)
	}
	if rule != "" {
		w, err := ParseWindow(rule, d, tz)
		if err != nil {
			return fmt.Errorf("group %s window: %w", g.Name, err)
		}
		g.Window = w
	}
	return nil
}
