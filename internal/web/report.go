package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/product"
)

// The researcher's report form. It works without JavaScript and without
// an account; every problem is shown beside its field, and what was typed
// and uploaded is kept.

type reportForm struct {
	Score    string            // the typed CVSS vector's score, when it is valid
	Values   map[string]string // the typed fields, by their API names
	Checked  map[string]bool   // the check boxes
	Kept     []intake.Attachment
	Products []product.WithVersions
	Limits   intake.Limits
	CWEs     []cweOption
}

type cweOption struct {
	ID   int
	Name string
}

// maxField bounds one text field of the form; the domain's own limits are
// lower, this only stops a huge field from being read into memory.
const maxField = 256 << 10

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderReport(w, r, http.StatusOK, page{}, reportForm{Values: map[string]string{}, Checked: map[string]bool{}})
}

func (s *Server) renderReport(w http.ResponseWriter, r *http.Request, code int, p page, f reportForm) error {
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return err
	}
	f.Products, f.Limits, f.CWEs = ps, s.Intake.Limits(), s.cweOptions()
	if v := f.Values["cvss_vector"]; v != "" {
		if sc, err := cvss.Parse(v); err == nil {
			f.Score = fmt.Sprintf("%.1f %s (CVSS %s)", sc.Base, sc.Rating, sc.Version)
		}
	}
	p.Title, p.Data = "Report a vulnerability", f
	s.render(w, r, code, "report.html", p)
	return nil
}

// submitReport reads the multipart form as a stream: each file goes
// straight into the blob store (durably) within the size budget, so a
// large upload never sits in memory.
func (s *Server) submitReport(w http.ResponseWriter, r *http.Request) error {
	lim := s.Intake.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes+4<<20)
	f := reportForm{Values: map[string]string{}, Checked: map[string]bool{}}
	sub, err := s.readReport(r, &f, lim)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = patchday.Errorf(patchday.ErrInvalid, "the report is larger than the %s allowed; send fewer or smaller files", intake.Size(lim.MaxTotalBytes))
		}
		if !errors.Is(err, patchday.ErrInvalid) {
			return err
		}
		return s.renderReport(w, r, http.StatusUnprocessableEntity, page{Flash: patchday.Message(err)}, f)
	}
	rc, err := s.Intake.Submit(r.Context(), sub, intake.SourceWeb, remote(r))
	switch {
	case errors.Is(err, patchday.ErrInvalid):
		return s.renderReport(w, r, http.StatusUnprocessableEntity,
			page{Flash: patchday.Summary(err), Fields: patchday.FieldErrors(err)}, f)
	case errors.Is(err, patchday.ErrTooManyRequests):
		return s.renderReport(w, r, http.StatusTooManyRequests, page{Flash: patchday.Message(err)}, f)
	case err != nil:
		return err
	}
	s.Log.Info("report received", "case", rc.Ref, "from", remote(r), "attachments", len(sub.Attachments))
	s.render(w, r, http.StatusCreated, "report-received.html", page{Title: "Report received", Data: struct {
		Ref, Link string
	}{rc.Ref, s.caseLink(r, rc.Link)}})
	return nil
}

// caseLink is the full private link, for the researcher to keep.
func (s *Server) caseLink(r *http.Request, secret string) string {
	return s.base(r) + "/r/" + secret
}

// readMultipart reads a multipart form as a stream: text fields into
// values, each file straight into the blob store within the size budget,
// and files kept from an earlier, refused try ("kept" fields). It returns
// the files received so far even with an error.
func (s *Server) readMultipart(r *http.Request, lim intake.Limits, values map[string]string) ([]intake.Attachment, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, patchday.Errorf(patchday.ErrInvalid, "the form must be sent as multipart/form-data")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	// Everything read from the request is the client's to get wrong: a
	// malformed or cut-off upload is a 422, not our failure.
	malformed := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || r.Context().Err() != nil {
			return err
		}
		return patchday.Errorf(patchday.ErrInvalid, "the form arrived incomplete or malformed (%v); please send it again", err)
	}
	budget := lim.MaxTotalBytes
	var files []intake.Attachment
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return files, nil
		} else if err != nil {
			return files, malformed(err)
		}
		name := part.FormName()
		if part.FileName() != "" || name == "attachments" {
			if part.FileName() == "" { // an empty file input
				continue
			}
			if len(files) >= lim.MaxAttachments {
				return files, patchday.Errorf(patchday.ErrInvalid, "at most %d files at once; put them in one archive", lim.MaxAttachments)
			}
			src := &clientReader{r: part}
			ref, err := s.Blobs.Put(r.Context(), src, budget)
			if src.err != nil {
				return files, malformed(src.err)
			}
			if errors.Is(err, patchday.ErrInvalid) {
				return files, patchday.Errorf(patchday.ErrInvalid, "the files together are larger than the %s allowed", intake.Size(lim.MaxTotalBytes))
			} else if err != nil {
				return files, err
			}
			budget -= ref.Size
			files = append(files, intake.Attachment{Name: intake.FileName(part.FileName()), ContentType: intake.ContentType(part.Header.Get("Content-Type")),
				SHA256: ref.SHA256, Size: ref.Size})
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			return files, malformed(err)
		}
		if len(b) > maxField || !utf8.Valid(b) {
			return files, patchday.Errorf(patchday.ErrInvalid, "the field %q is too long or not text", name)
		}
		if name == "kept" {
			a, err := s.keptAttachment(string(b))
			if err != nil {
				return files, err
			}
			budget -= a.Size
			files = append(files, a)
			continue
		}
		values[name] = string(b)
	}
}

func (s *Server) readReport(r *http.Request, f *reportForm, lim intake.Limits) (intake.Submission, error) {
	files, err := s.readMultipart(r, lim, f.Values)
	f.Kept = files // even when refused: what arrived is kept for the next try
	if err != nil {
		return intake.Submission{}, err
	}
	v := f.Values
	if v["website"] != "" { // the honeypot: hidden from people, filled in by bots
		return intake.Submission{}, patchday.Errorf(patchday.ErrInvalid, "leave the field labelled “leave this empty” empty")
	}
	prod := v["product"]
	if prod == "other" {
		prod = v["product_other"]
	}
	for _, k := range []string{"public", "exploited", "anonymous"} {
		f.Checked[k] = v[k] != ""
	}
	return intake.Submission{
		Title: v["title"], Product: prod, Version: v["version"], Description: v["description"], Impact: v["impact"],
		Steps: v["steps"], Configuration: v["configuration"], CVSSVector: v["cvss_vector"], CWE: v["cwe"],
		HowFound: v["how_found"], Public: f.Checked["public"], Exploited: f.Checked["exploited"],
		DisclosureDate: v["disclosure_date"], Email: v["email"], CreditName: v["credit_name"],
		CreditHandle: v["credit_handle"], Anonymous: f.Checked["anonymous"], Attachments: files,
	}, nil
}

// clientReader remembers a read error from the request, so it can be told
// apart from a failure to store what was read.
type clientReader struct {
	r   io.Reader
	err error
}

func (c *clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// keptAttachment reads a file kept from an earlier, refused submission
// ("sha256 size name"), checking that the blob is really there at that size.
func (s *Server) keptAttachment(v string) (intake.Attachment, error) {
	parts := strings.SplitN(v, " ", 4)
	bad := patchday.Errorf(patchday.ErrInvalid, "a kept file could not be found; please attach it again")
	if len(parts) != 4 {
		return intake.Attachment{}, bad
	}
	size, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !blob.ValidSum(parts[0]) {
		return intake.Attachment{}, bad
	}
	fh, err := s.Blobs.Open(parts[0])
	if err != nil {
		return intake.Attachment{}, bad
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || st.Size() != size {
		return intake.Attachment{}, bad
	}
	return intake.Attachment{SHA256: parts[0], Size: size, ContentType: intake.ContentType(parts[2]), Name: intake.FileName(parts[3])}, nil
}
