package payload

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/delta"
)

// DeltaFormat is the "format" of a payload delta's header.
const DeltaFormat = "patchday-delta/1"

// A payload delta turns the installed files of one version into the
// payload of another, so only what changed travels. It is one zstd stream
// holding one tar archive:
//
//  1. "delta.json": the header (DeltaHeader) — the product, the version it
//     applies to, the full manifest of the version it brings, and for each
//     file of that manifest how to make it;
//  2. for each file made by "patch" or "add", in header order, a regular
//     file "files/<path>": a byte delta (package delta) against the base
//     file ("patch") or against nothing ("add");
//  3. the end-of-archive marker, and nothing after it.
//
// Ops: "copy" takes the base file at Base unchanged (same sha256 as the
// manifest says); "patch" applies files/<path> to the base file at Base;
// "add" decodes files/<path> alone. Directories and symbolic links come
// from the manifest. Every file made is checked against the manifest's
// size and sha256, so a delta can only ever produce the signed manifest's
// files, or fail.
type DeltaHeader struct {
	Format   string      `json:"format"`
	Product  string      `json:"product"`
	From     string      `json:"from"`
	Manifest Manifest    `json:"manifest"`
	Files    []DeltaFile `json:"files"`
}

// DeltaFile says how one file of the new version is made.
type DeltaFile struct {
	Path string `json:"path"`
	Op   string `json:"op"`             // copy | patch | add
	Base string `json:"base,omitempty"` // copy, patch: the file in the old version
}

// Delta ops.
const (
	OpCopy  = "copy"
	OpPatch = "patch"
	OpAdd   = "add"
)

// BuildDelta reads two payloads of one product and writes a delta that
// makes the second from the first's files. Unchanged files (by sha256,
// wherever they moved) are copied; a changed file is patched against the
// file at the same path, else against the old file of the same name in
// another directory; the rest are added.
func BuildDelta(ctx context.Context, oldPayload, newPayload io.Reader, w io.Writer, lim Limits) error {
	om, oldFiles, err := ReadAll(ctx, oldPayload, lim)
	if err != nil {
		return fmt.Errorf("old payload: %w", err)
	}
	nm, newFiles, err := ReadAll(ctx, newPayload, lim)
	if err != nil {
		return fmt.Errorf("new payload: %w", err)
	}
	if om.Product != nm.Product {
		return patchday.Errorf(patchday.ErrInvalid, "the payloads are of different products (%q, %q)", om.Product, nm.Product)
	}
	bySum, byName := map[string]string{}, map[string]string{}
	for _, e := range om.Entries {
		if e.Type != TypeFile {
			continue
		}
		if _, ok := bySum[e.SHA256]; !ok {
			bySum[e.SHA256] = e.Path
		}
		if _, ok := byName[path.Base(e.Path)]; !ok {
			byName[path.Base(e.Path)] = e.Path
		}
	}
	oldAt := map[string]Entry{}
	for _, e := range om.Entries {
		oldAt[e.Path] = e
	}
	h := DeltaHeader{Format: DeltaFormat, Product: nm.Product, From: om.Version, Manifest: nm}
	var jobs []diffJob
	for _, e := range nm.Entries {
		if e.Type != TypeFile {
			continue
		}
		f := DeltaFile{Path: e.Path}
		switch {
		case oldAt[e.Path].Type == TypeFile && oldAt[e.Path].SHA256 == e.SHA256:
			f.Op, f.Base = OpCopy, e.Path
		case bySum[e.SHA256] != "":
			f.Op, f.Base = OpCopy, bySum[e.SHA256]
		default:
			base := ""
			if oldAt[e.Path].Type == TypeFile {
				base = e.Path
			} else if p, ok := byName[path.Base(e.Path)]; ok {
				base = p
			}
			var old []byte
			f.Op = OpAdd
			if base != "" {
				f.Op, f.Base, old = OpPatch, base, oldFiles[base]
			}
			jobs = append(jobs, diffJob{path: e.Path, old: old, new: newFiles[e.Path]})
		}
		h.Files = append(h.Files, f)
	}
	bodies, err := diffAll(ctx, jobs)
	if err != nil {
		return err
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	// The byte deltas are compressed already: what is left to shrink is delta.json and the
	// tar headers. zstd's default level with a small window does that within 1% of the
	// stronger levels on the test corpus, whose larger tables and windows took longer to set
	// up than to use.
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20))
	if err != nil {
		return err
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	put := func(name string, b []byte) error {
		if err := writeHeader(tw, name, 0o644, int64(len(b))); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := put("delta.json", js); err != nil {
		return err
	}
	i := 0
	for _, f := range h.Files {
		if f.Op == OpCopy {
			continue
		}
		if err := put("files/"+f.Path, bodies[i]); err != nil {
			return err
		}
		i++
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// A diffJob is one changed or added file of a delta: its bytes in the old version (none for an
// added file) and in the new.
type diffJob struct {
	path     string
	old, new []byte
}

// diffAll returns the byte delta of each job, in the order of jobs. It runs up to GOMAXPROCS
// of them at once, largest first, so that the largest file does not start last and keep the
// others waiting. A delta depends only on its two files, so the result does not depend on the
// order either. It stops starting new jobs when ctx ends or a job fails.
func diffAll(ctx context.Context, jobs []diffJob) ([][]byte, error) {
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(jobs[b].new) - len(jobs[a].new) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([][]byte, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range next {
				if out[i], errs[i] = delta.Diff(jobs[i].old, jobs[i].new); errs[i] != nil {
					errs[i] = fmt.Errorf("delta of %s: %w", jobs[i].path, errs[i])
					cancel()
				}
			}
		})
	}
feed:
	for _, i := range order {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// Of the jobs that ran, report the first failure in manifest order.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ErrBase says the files a delta was applied to are not the version it was
// made from; fetch the full payload instead.
var ErrBase = errors.New("the installed files are not the version this delta applies to")

// ApplyDelta reads a delta and the old version's files from base, and
// writes the new version's payload to w (it can then be unpacked and
// installed like a downloaded one). It returns the new manifest. Every
// file it makes is checked against that manifest; a base file that is not
// what the delta expects is an ErrBase error.
func ApplyDelta(ctx context.Context, r io.Reader, base fs.FS, w io.Writer, lim Limits) (Manifest, error) {
	lim = lim.withDefaults()
	dr, err := openDelta(r, lim)
	if err != nil {
		return Manifest{}, err
	}
	defer dr.close()
	h, tr := dr.h, dr.tr
	files := map[string][]byte{}
	want := map[string]Entry{}
	for _, e := range h.Manifest.Entries {
		want[e.Path] = e
	}
	var total int64
	for _, f := range h.Files {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		e := want[f.Path]
		var old []byte
		if f.Op != OpAdd {
			if old, err = fs.ReadFile(base, f.Base); err != nil {
				return Manifest{}, fmt.Errorf("%w: %s: %v", ErrBase, f.Base, err)
			}
		}
		var out []byte
		switch f.Op {
		case OpCopy:
			out = old
		case OpPatch, OpAdd:
			hdr, err := tr.Next()
			if err != nil || hdr.Name != "files/"+f.Path || hdr.Size > lim.MaxSize {
				return Manifest{}, corrupt("expected the delta of %s", f.Path)
			}
			d, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
			if err != nil {
				return Manifest{}, corrupt("reading the delta of %s: %v", f.Path, err)
			}
			out, err = delta.Apply(old, d)
			if errors.Is(err, delta.ErrWrongBase) {
				return Manifest{}, fmt.Errorf("%w: %s differs", ErrBase, f.Base)
			} else if err != nil {
				return Manifest{}, corrupt("%s: %v", f.Path, err)
			}
		}
		if sum := sha256.Sum256(out); int64(len(out)) != e.Size || hex.EncodeToString(sum[:]) != e.SHA256 {
			if f.Op == OpCopy {
				return Manifest{}, fmt.Errorf("%w: %s differs", ErrBase, f.Base)
			}
			return Manifest{}, corrupt("%s does not match the manifest", f.Path)
		}
		if total += e.Size; total > lim.MaxSize {
			return Manifest{}, corrupt("the files exceed %d bytes", lim.MaxSize)
		}
		files[f.Path] = out
	}
	if _, err := tr.Next(); err != io.EOF {
		return Manifest{}, corrupt("unexpected data after the last file")
	}
	if err := pack(h.Manifest, files, w); err != nil {
		return Manifest{}, err
	}
	return h.Manifest, nil
}

// pack writes a payload of the manifest and the files' bytes. Speed
// matters more than size here: the result is unpacked at once.
func pack(m Manifest, files map[string][]byte, w io.Writer) error {
	js, err := m.Encode()
	if err != nil {
		return err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zw.Close()
	tw := tar.NewWriter(zw)
	if err := writeHeader(tw, "manifest.json", 0o644, int64(len(js))); err != nil {
		return err
	}
	if _, err := tw.Write(js); err != nil {
		return err
	}
	for _, e := range m.Entries {
		if e.Type != TypeFile {
			continue
		}
		if err := writeHeader(tw, "files/"+e.Path, int64(e.Mode), e.Size); err != nil {
			return err
		}
		if _, err := tw.Write(files[e.Path]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// deltaReader is a delta opened up to its checked header.
type deltaReader struct {
	zr *zstd.Decoder
	tr *tar.Reader
	h  DeltaHeader
}

func openDelta(r io.Reader, lim Limits) (*deltaReader, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(lim.MaxSize)+uint64(lim.MaxManifest)*4),
		zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return nil, err
	}
	dr := &deltaReader{zr: zr, tr: tar.NewReader(zr)}
	hdr, err := dr.tr.Next()
	if err != nil || hdr.Name != "delta.json" || hdr.Size > lim.MaxManifest*2 {
		zr.Close()
		return nil, corrupt("the delta does not start with its header")
	}
	js, err := io.ReadAll(io.LimitReader(dr.tr, hdr.Size))
	if err == nil {
		dr.h, err = parseDeltaHeader(js, lim)
	}
	if err != nil {
		zr.Close()
		return nil, err
	}
	return dr, nil
}

func (d *deltaReader) close() { d.zr.Close() }

func corrupt(format string, args ...any) error {
	return patchday.Errorf(patchday.ErrInvalid, "corrupt delta: "+format, args...)
}

// parseDeltaHeader checks a header: a valid manifest, and exactly one way
// to make each of its files, in manifest order, with clean base paths.
func parseDeltaHeader(js []byte, lim Limits) (DeltaHeader, error) {
	var h DeltaHeader
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, corrupt("header: %v", err)
	}
	if h.Format != DeltaFormat {
		return h, corrupt("format %q, want %q", h.Format, DeltaFormat)
	}
	if err := h.Manifest.Validate(); err != nil {
		return h, corrupt("manifest: %v", err)
	}
	if len(h.Manifest.Entries) > lim.MaxEntries {
		return h, corrupt("more than %d entries", lim.MaxEntries)
	}
	if h.Product != h.Manifest.Product {
		return h, corrupt("product %q, manifest says %q", h.Product, h.Manifest.Product)
	}
	i := 0
	for _, e := range h.Manifest.Entries {
		if e.Type != TypeFile {
			continue
		}
		if i >= len(h.Files) || h.Files[i].Path != e.Path {
			return h, corrupt("no way to make %s", e.Path)
		}
		f := h.Files[i]
		switch f.Op {
		case OpAdd:
			if f.Base != "" {
				return h, corrupt("%s: add takes no base", f.Path)
			}
		case OpCopy, OpPatch:
			if msg := checkPath(f.Base); msg != "" {
				return h, corrupt("%s: base: %s", f.Path, msg)
			}
		default:
			return h, corrupt("%s: unknown op %q", f.Path, f.Op)
		}
		i++
	}
	if i != len(h.Files) {
		return h, corrupt("%d ways to make files the manifest does not have", len(h.Files)-i)
	}
	return h, nil
}
