package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	patchday "github.com/patchday/patchday"

	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/catalog"
)

// progressEvery is the most content between two Progress reports.
const progressEvery = 256 << 10

// stallTimeout is how long a download may go without a byte before it is
// cut off: there is no limit on a large payload's total time, only on an
// upstream that stops sending.
const stallTimeout = time.Minute

var errStalled = fmt.Errorf("no data from the upstream for %s", stallTimeout)

// job is one target's content to fetch.
type job struct {
	path, sha string
	size      int64
	mark      bool // MarkFetched once here: the store's record has this hash
}

// content records the targets and fetches the wanted content not here yet.
func (m *Mirror) content(ctx context.Context, tg *metadata.Metadata[metadata.TargetsType], res *Result) error {
	now := m.now()
	known := map[string]Target{}
	ts, err := m.o.Store.MirrorTargets(ctx)
	if err != nil {
		return fmt.Errorf("read the mirrored targets: %w", err)
	}
	for _, t := range ts {
		known[t.Path] = t
	}
	paths := make([]string, 0, len(tg.Signed.Targets))
	for p := range tg.Signed.Targets {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var rec []Target
	var jobs []job
	customs := map[string]*json.RawMessage{}
	for _, p := range paths {
		tf := tg.Signed.Targets[p]
		sha := ""
		if h, ok := tf.Hashes["sha256"]; ok {
			sha = hex.EncodeToString(h)
		}
		if !blob.ValidSum(sha) || tf.Length < 0 {
			// Agents fetch by sha256 too, so such a target is of no use
			// to them; the others still are.
			m.log.Warn("upstream target without a sha256 or with a negative length skipped", "upstream", m.base, "target", p)
			continue
		}
		rec = append(rec, Target{Path: p, SHA256: sha, Size: tf.Length, Seen: now})
		k, seen := known[p]
		if seen && k.SHA256 != sha {
			// The store keeps a path's first record; content under it now
			// is fetched, but the record cannot say so.
			m.log.Warn("upstream target now names different content than when first mirrored", "target", p, "was", k.SHA256, "now", sha)
		}
		jobs = append(jobs, job{path: p, sha: sha, size: tf.Length, mark: !seen || k.SHA256 == sha && k.Fetched.IsZero()})
		customs[p] = tf.Custom
	}
	if err := m.o.Store.PutMirrorTargets(ctx, rec); err != nil {
		return fmt.Errorf("record the upstream's targets: %w", err)
	}
	res.Known = len(rec)

	var todo []job
	var total int64
	for _, j := range jobs {
		if have, err := m.have(j); err != nil {
			return err
		} else if have {
			// A crash between storing a blob and removing its partial
			// file, or the same content under another path.
			if err := os.Remove(m.partPath(j.sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if j.mark {
				if err := m.o.Store.MarkFetched(ctx, j.path, now); err != nil {
					return fmt.Errorf("record %s as fetched: %w", j.path, err)
				}
			}
			continue
		}
		if !m.want(j.path, customs[j.path]) {
			res.Skipped++
			continue
		}
		todo = append(todo, j)
		total += j.size
	}
	pr := &progress{fn: m.o.Progress, p: Progress{Files: len(todo), Total: total}}
	for _, j := range todo {
		if err := m.fetch(ctx, j, pr, res); err != nil {
			m.log.Warn("mirror sync stopped", "upstream", m.base, "target", j.path, "err", err)
			return err
		}
	}
	return nil
}

// have reports whether a target's content is in the blob store.
func (m *Mirror) have(j job) (bool, error) {
	f, err := m.o.Blobs.Open(j.sha)
	if errors.Is(err, patchday.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for %s in the blob store: %w", j.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return fi.Size() == j.size, nil
}

func (m *Mirror) want(path string, raw *json.RawMessage) bool {
	if m.o.Want == nil {
		return true
	}
	var c catalog.Custom
	if raw != nil {
		if err := json.Unmarshal(*raw, &c); err != nil {
			m.log.Warn("upstream target's custom metadata is not patchday's; deciding on empty metadata", "target", path, "err", err)
			c = catalog.Custom{}
		}
	}
	return m.o.Want(path, c)
}

func (m *Mirror) partPath(sha string) string {
	return filepath.Join(m.o.Partial, sha+".part")
}

// targetURL is the consistent-snapshot URL of a target's content:
// <dir>/<sha256>.<name> under the upstream's /tuf/targets/.
func (m *Mirror) targetURL(j job) string {
	dir, base := "", j.path
	if i := strings.LastIndex(j.path, "/"); i >= 0 {
		dir, base = j.path[:i], j.path[i+1:]
	}
	var b strings.Builder
	b.WriteString(m.base + "/tuf/targets/")
	if dir != "" {
		for s := range strings.SplitSeq(dir, "/") {
			b.WriteString(url.PathEscape(s) + "/")
		}
	}
	b.WriteString(j.sha + "." + url.PathEscape(base))
	return b.String()
}

// fetch downloads one target's content, resuming a partial file, checks it
// against the signed length and hash, and puts it in the blob store.
func (m *Mirror) fetch(ctx context.Context, j job, pr *progress, res *Result) error {
	part := m.partPath(j.sha)
	pr.file(j.path, j.size)
	// Another path with the same content may have brought it meanwhile.
	if have, err := m.have(j); err != nil {
		return err
	} else if have {
		if j.mark {
			if err := m.o.Store.MarkFetched(ctx, j.path, m.now()); err != nil {
				return fmt.Errorf("record %s as fetched: %w", j.path, err)
			}
		}
		pr.fileDone()
		return nil
	}
	var d dl
	for attempt := 0; ; attempt++ {
		var err error
		d, err = m.download(ctx, j, attempt > 0, pr)
		res.Bytes += d.n
		if err != nil {
			return err
		}
		reason, err := checkPart(part, j)
		if err != nil {
			return err
		}
		if reason == "" {
			break
		}
		if err := os.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if d.resumed && attempt == 0 {
			// Earlier bytes came from another run and may be what is
			// wrong (a crash can leave a file longer than its data).
			m.log.Warn("a partial download from an earlier sync did not verify; downloading the file afresh", "target", j.path, "reason", reason)
			continue
		}
		return mismatch(j, reason)
	}
	f, err := os.Open(part)
	if err != nil {
		return err
	}
	ref, err := m.o.Blobs.Put(ctx, f, j.size)
	f.Close()
	if err != nil {
		return fmt.Errorf("store %s in the blob store: %w", j.path, err)
	}
	if ref.SHA256 != j.sha || ref.Size != j.size {
		return fmt.Errorf("target %s changed on disk while it was stored (now sha256 %s); check what else writes to %s", j.path, ref.SHA256, m.o.Partial)
	}
	if err := os.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if j.mark {
		if err := m.o.Store.MarkFetched(ctx, j.path, m.now()); err != nil {
			return fmt.Errorf("record %s as fetched: %w", j.path, err)
		}
	}
	res.Fetched++
	if d.resumed {
		res.Resumed++
	}
	pr.fileDone()
	return nil
}

// dl says what one download attempt did.
type dl struct {
	n       int64 // bytes received
	resumed bool  // the file continues bytes from an earlier run
}

// download brings the partial file up to the target's length: resuming
// with a Range request where it can, starting over where it cannot.
func (m *Mirror) download(ctx context.Context, j job, fresh bool, pr *progress) (dl, error) {
	var d dl
	part := m.partPath(j.sha)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return d, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return d, err
	}
	off := fi.Size()
	if fresh || off > j.size {
		if err := f.Truncate(0); err != nil {
			return d, err
		}
		off = 0
	}
	pr.at(off)
	if off == j.size {
		// Complete already (or empty): checked next.
		d.resumed = off > 0
		return d, nil
	}

	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, m.targetURL(j), nil)
	if err != nil {
		return d, err
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return d, m.transferError(ctx, reqCtx, j, off, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
			f.Close()
			os.Remove(part)
			return d, fmt.Errorf("target %s: upstream answered a request for bytes from %d with %q; the partial download was discarded and the next sync downloads the file afresh",
				j.path, off, resp.Header.Get("Content-Range"))
		}
		d.resumed = true
	case resp.StatusCode == http.StatusOK:
		// The upstream ignored the Range request: start over.
		if off > 0 {
			if err := f.Truncate(0); err != nil {
				return d, err
			}
			off = 0
			pr.at(0)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		// Complete, or longer than the upstream's copy: checked next.
		d.resumed = true
		return d, nil
	default:
		return d, fmt.Errorf("target %s: upstream answered %s; the mirror tries again at the next sync", j.path, resp.Status)
	}
	want := j.size - off
	if resp.ContentLength > want {
		f.Close()
		os.Remove(part)
		return d, mismatch(j, fmt.Sprintf("%d bytes, the target says %d", off+resp.ContentLength, j.size))
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return d, err
	}
	// Never read more than the signed length and one byte: enough to tell
	// that the upstream sends more than it signed.
	n, err := io.Copy(&progressWriter{w: f, pr: pr}, io.LimitReader(&stallReader{r: resp.Body, t: stall}, want+1))
	d.n = n
	// Keep what arrived durable, so the next run resumes from real data.
	syncErr := f.Sync()
	switch {
	case n > want:
		f.Close()
		os.Remove(part)
		return d, mismatch(j, fmt.Sprintf("more than the %d bytes the target says", j.size))
	case err != nil:
		return d, m.transferError(ctx, reqCtx, j, off+n, err)
	case n < want:
		return d, fmt.Errorf("target %s: upstream ended the download after %d of %d bytes; the next sync resumes it", j.path, off+n, j.size)
	case syncErr != nil:
		return d, syncErr
	}
	return d, nil
}

// mismatch is content that is not what the upstream signed. Whatever the
// cause — a compromised upstream, a meddling proxy, a damaged disk there —
// the mirror cannot tell, so it says what it saw and keeps nothing.
func mismatch(j job, reason string) error {
	return fmt.Errorf("target %s: upstream served content that does not match its signed target: %s; the download was discarded and nothing of it stored — if the next sync fails the same way, tell the upstream's operator",
		j.path, reason)
}

// transferError explains a download cut short: by the caller, by a
// stalled upstream, or by the network. The partial file stays.
func (m *Mirror) transferError(ctx, reqCtx context.Context, j job, at int64, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("mirror sync stopped during %s: %w", j.path, context.Cause(ctx))
	}
	if errors.Is(context.Cause(reqCtx), errStalled) {
		err = errStalled
	}
	return fmt.Errorf("target %s: download interrupted after %d of %d bytes (%v); the next sync resumes it", j.path, at, j.size, err)
}

// rangeStart parses the first byte of a Content-Range: bytes a-b/n.
func rangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	var n int64
	if _, err := fmt.Sscan(first, &n); err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// checkPart hashes the whole partial file — earlier bytes may come from an
// earlier run — and says how it differs from the target, if it does.
func checkPart(part string, j job) (string, error) {
	f, err := os.Open(part)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, j.size+1))
	if err != nil {
		return "", err
	}
	if n != j.size {
		return fmt.Sprintf("%d bytes, the target says %d", n, j.size), nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != j.sha {
		return fmt.Sprintf("sha256 %s, the target says %s", got, j.sha), nil
	}
	return "", nil
}

// stallReader restarts the stall timer with every byte received.
type stallReader struct {
	r io.Reader
	t *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.t.Reset(stallTimeout)
	}
	return n, err
}

// progress tracks a sync's downloads and reports them.
type progress struct {
	fn    func(Progress)
	p     Progress
	since int64 // bytes since the last report
}

func (pr *progress) file(path string, size int64) {
	pr.p.File, pr.p.FileSize, pr.p.FileDone = path, size, 0
}

// at moves the current file to off bytes done: a resumed start, or a
// restart from zero.
func (pr *progress) at(off int64) {
	pr.p.Done += off - pr.p.FileDone
	pr.p.FileDone = off
}

func (pr *progress) add(n int64) {
	pr.p.FileDone += n
	pr.p.Done += n
	pr.since += n
	if pr.since >= progressEvery {
		pr.report()
	}
}

func (pr *progress) fileDone() {
	pr.at(pr.p.FileSize)
	pr.p.FilesDone++
	pr.report()
}

func (pr *progress) report() {
	pr.since = 0
	if pr.fn != nil {
		pr.fn(pr.p)
	}
}

// progressWriter writes to the partial file, reporting progress at every
// progressEvery bytes exactly.
type progressWriter struct {
	w  io.Writer
	pr *progress
}

func (w *progressWriter) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		k := min(int64(len(p)), progressEvery-w.pr.since)
		n, err := w.w.Write(p[:k])
		done += n
		w.pr.add(int64(n))
		if err != nil {
			return done, err
		}
		p = p[k:]
	}
	return done, nil
}
