package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/patchday/patchday/internal/agentapi"
)

// refusal is a target the agent will not use, and why; it is reported to
// the server as the update's failure.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error {
	return &refusal{reason: fmt.Sprintf(format, args...)}
}

// trustedRoot is the TUF root the agent starts from: the newest it has
// verified, else the one it was given, else — on first contact only —
// the server's first root, kept from then on (trust on first use).
func (a *Agent) trustedRoot(ctx context.Context) ([]byte, error) {
	stored := a.st.path(trustDir, "root.json")
	if b, err := os.ReadFile(stored); err == nil {
		return b, nil
	}
	b := a.cfg.Trust
	if b == nil {
		a.log.Warn("no --trust root given: trusting the server's first root on first contact; ship the vendor's root.json with the agent to close that gap")
		var err error
		if b, err = a.get(ctx, a.cfg.Server+"/tuf/1.root.json", 1<<20); err != nil {
			return nil, fmt.Errorf("fetch the catalog's root: %w", err)
		}
	}
	if _, err := metadata.Root().FromBytes(b); err != nil {
		return nil, fmt.Errorf("the trusted root does not parse: %w", err)
	}
	return b, writeFileAtomic(stored, b, 0o600)
}

// catalog refreshes the agent's view of the signed catalog with go-tuf:
// every role verified against the trusted root, with rollback and freeze
// checks against the metadata verified before (kept in the state dir).
func (a *Agent) catalog(ctx context.Context) (*updater.Updater, error) {
	root, err := a.trustedRoot(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := config.New(a.cfg.Server+"/tuf/", root)
	if err != nil {
		return nil, err
	}
	cfg.LocalMetadataDir = a.st.path(trustDir)
	cfg.LocalTargetsDir = a.st.path(downloadDir)
	cfg.RemoteTargetsURL = a.cfg.Server + "/tuf/targets/"
	cfg.PrefixTargetsWithHash = true
	up, err := updater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("the trusted root: %w", err)
	}
	if err := up.Refresh(); err != nil {
		return nil, refuse("the signed catalog did not verify: %v", err)
	}
	return up, nil
}

// signed is a target as the signed catalog describes it.
type signed struct {
	Path   string
	Length int64
	SHA256 string
	Meta   agentapi.TargetMeta
}

func lookup(up *updater.Updater, target string) (signed, error) {
	tf, err := up.GetTargetInfo(target)
	if err != nil {
		return signed{}, refuse("%s is not in the signed catalog", target)
	}
	sum, ok := tf.Hashes["sha256"]
	if !ok {
		return signed{}, refuse("%s has no signed sha256", target)
	}
	s := signed{Path: target, Length: tf.Length, SHA256: hex.EncodeToString(sum)}
	if tf.Custom == nil {
		return signed{}, refuse("%s carries no signed description", target)
	}
	if err := json.Unmarshal(*tf.Custom, &s.Meta); err != nil {
		return signed{}, refuse("%s: its signed description does not parse: %v", target, err)
	}
	return s, nil
}

// download fetches a signed target into the downloads dir and returns the
// verified file and the bytes this call transferred. An interrupted
// download is resumed with Range from where it stopped; nothing longer than
// the signed length is accepted, and the whole file must have the signed
// sha256, or it is deleted and refused.
func (a *Agent) download(ctx context.Context, t signed) (string, int64, error) {
	final := a.st.path(downloadDir, t.SHA256)
	if fi, err := os.Stat(final); err == nil && fi.Size() == t.Length {
		return final, 0, nil
	}
	part := final + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "", 0, err
	}
	if have > t.Length {
		if err := f.Truncate(0); err != nil {
			return "", 0, err
		}
		have = 0
	}
	dir, name := path.Split(t.Path)
	url := a.cfg.Server + "/tuf/targets/" + dir + t.SHA256 + "." + name
	var got int64
	if have < t.Length {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", 0, err
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := a.http.Do(req)
		if err != nil {
			return "", 0, fmt.Errorf("download %s: %w", t.Path, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
		case resp.StatusCode == http.StatusOK:
			// The server ignored the Range: start over.
			if err := f.Truncate(0); err != nil {
				return "", 0, err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return "", 0, err
			}
			have = 0
		default:
			return "", 0, fmt.Errorf("download %s: the server answered %s", t.Path, resp.Status)
		}
		if a.cfg.Progress != nil {
			a.cfg.Progress(t.Path, have, t.Length)
		}
		// One byte more than the signed length is read, so an endless or
		// over-long answer is caught without reading all of it.
		got, err = io.Copy(f, io.LimitReader(&progressReader{r: resp.Body, a: a, t: t, done: have}, t.Length-have+1))
		if err != nil {
			return "", got, fmt.Errorf("download %s: %w (it resumes from byte %d at the next attempt)", t.Path, err, have+got)
		}
	}
	if err := f.Sync(); err != nil {
		return "", got, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", got, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", got, err
	}
	if n != t.Length || hex.EncodeToString(h.Sum(nil)) != t.SHA256 {
		f.Close() // Windows deletes no open file
		os.Remove(part)
		return "", got, refuse("%s does not match the signed catalog (%d bytes, sha256 %s; signed: %d bytes, sha256 %s): refused",
			t.Path, n, hex.EncodeToString(h.Sum(nil))[:16]+"…", t.Length, t.SHA256[:16]+"…")
	}
	f.Close()
	if err := os.Rename(part, final); err != nil {
		return "", got, err
	}
	return final, got, syncDir(filepath.Dir(final))
}

// progressReader reports a download's progress to Config.Progress.
type progressReader struct {
	r    io.Reader
	a    *Agent
	t    signed
	done int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.a.cfg.Progress != nil && n > 0 {
		p.a.cfg.Progress(p.t.Path, p.done, p.t.Length)
	}
	return n, err
}

// get fetches a small document from the server.
func (a *Agent) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s: longer than %d bytes", url, limit)
	}
	return b, err
}

// exists reports whether name exists (without following a last symlink).
func exists(fsys interface {
	Lstat(string) (fs.FileInfo, error)
}, name string) bool {
	_, err := fsys.Lstat(name)
	return err == nil
}
