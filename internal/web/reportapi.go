package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/cvss"
	"github.com/patchday/patchday/internal/intake"
)

// apiReportIn is the JSON form of a report: the same field names as the
// web form's inputs (intake.Fields). Files come base64-encoded.
type apiReportIn struct {
	Title          string `json:"title"`
	Product        string `json:"product"`
	Version        string `json:"version"`
	Description    string `json:"description"`
	Impact         string `json:"impact"`
	Steps          string `json:"steps"`
	Configuration  string `json:"configuration"`
	CVSSVector     string `json:"cvss_vector"`
	CWE            string `json:"cwe"`
	HowFound       string `json:"how_found"`
	Public         bool   `json:"public"`
	Exploited      bool   `json:"exploited"`
	DisclosureDate string `json:"disclosure_date"`
	Email          string `json:"email"`
	CreditName     string `json:"credit_name"`
	CreditHandle   string `json:"credit_handle"`
	Anonymous      bool   `json:"anonymous"`
	Attachments    []struct {
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
		Data        []byte `json:"data"` // base64
	} `json:"attachments"`
}

type apiReceipt struct {
	ID   string `json:"id"`
	Link string `json:"link"`
}

// apiSubmitReport takes a report as JSON or as multipart/form-data (the
// web form's encoding) and answers 201 with the case id and private link.
// Like the form it needs no account; it shares the form's rate limit.
func (s *Server) apiSubmitReport(w http.ResponseWriter, r *http.Request) error {
	lim := s.Intake.Limits()
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxTotalBytes*4/3+4<<20) // base64 grows data by a third
	var sub intake.Submission
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch mt {
	case "multipart/form-data":
		sub, err = s.readReport(r, &reportForm{Values: map[string]string{}, Checked: map[string]bool{}}, lim)
	case "application/json":
		sub, err = s.readReportJSON(r, lim)
	default:
		err = patchday.Errorf(patchday.ErrInvalid, "send the report as application/json or multipart/form-data")
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return patchday.Errorf(patchday.ErrInvalid, "the report is larger than the %s allowed", intake.Size(lim.MaxTotalBytes))
		}
		return err
	}
	rc, err := s.Intake.Submit(r.Context(), sub, intake.SourceAPI, remote(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiReceipt{ID: rc.Ref, Link: s.caseLink(r, rc.Link)})
	return nil
}

func (s *Server) readReportJSON(r *http.Request, lim intake.Limits) (intake.Submission, error) {
	var in apiReportIn
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return intake.Submission{}, err
		}
		return intake.Submission{}, patchday.Errorf(patchday.ErrInvalid, "the JSON body could not be read: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return intake.Submission{}, patchday.Errorf(patchday.ErrInvalid, "the JSON body must hold exactly one object")
	}
	if len(in.Attachments) > lim.MaxAttachments {
		return intake.Submission{}, patchday.Errorf(patchday.ErrInvalid, "at most %d files per report", lim.MaxAttachments)
	}
	sub := intake.Submission{
		Title: in.Title, Product: in.Product, Version: in.Version, Description: in.Description, Impact: in.Impact,
		Steps: in.Steps, Configuration: in.Configuration, CVSSVector: in.CVSSVector, CWE: in.CWE, HowFound: in.HowFound,
		Public: in.Public, Exploited: in.Exploited, DisclosureDate: in.DisclosureDate, Email: in.Email,
		CreditName: in.CreditName, CreditHandle: in.CreditHandle, Anonymous: in.Anonymous,
	}
	budget := lim.MaxTotalBytes
	for _, a := range in.Attachments {
		ref, err := s.Blobs.Put(r.Context(), bytes.NewReader(a.Data), budget)
		if errors.Is(err, patchday.ErrInvalid) {
			return intake.Submission{}, patchday.Errorf(patchday.ErrInvalid, "the files together are larger than the %s allowed", intake.Size(lim.MaxTotalBytes))
		} else if err != nil {
			return intake.Submission{}, err
		}
		budget -= ref.Size
		sub.Attachments = append(sub.Attachments, intake.Attachment{Name: intake.FileName(a.Name), ContentType: intake.ContentType(a.ContentType),
			SHA256: ref.SHA256, Size: ref.Size})
	}
	return sub, nil
}

type apiCase struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

type apiAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

type apiReport struct {
	Title          string          `json:"title"`
	Product        string          `json:"product"`
	Version        string          `json:"version"`
	Description    string          `json:"description"`
	Impact         string          `json:"impact,omitempty"`
	Steps          string          `json:"steps"`
	Configuration  string          `json:"configuration,omitempty"`
	CVSSVector     string          `json:"cvss_vector,omitempty"`
	CVSSScore      *float64        `json:"cvss_score,omitempty"`
	CVSSRating     string          `json:"cvss_rating,omitempty"`
	CWE            string          `json:"cwe,omitempty"`
	HowFound       string          `json:"how_found,omitempty"`
	Public         bool            `json:"public"`
	Exploited      bool            `json:"exploited"`
	DisclosureDate string          `json:"disclosure_date,omitempty"`
	Email          string          `json:"email"`
	CreditName     string          `json:"credit_name,omitempty"`
	CreditHandle   string          `json:"credit_handle,omitempty"`
	Anonymous      bool            `json:"anonymous"`
	Attachments    []apiAttachment `json:"attachments"`
	Source         string          `json:"source"`
	ReceivedAt     time.Time       `json:"received_at"`
}

func toAPIReport(r intake.Report) apiReport {
	out := apiReport{Title: r.Title, Product: r.Product, Version: r.Version, Description: r.Description, Impact: r.Impact,
		Steps: r.Steps, Configuration: r.Configuration, CVSSVector: r.CVSSVector, CVSSRating: r.CVSSRating,
		HowFound: r.HowFound, Public: r.Public, Exploited: r.Exploited, Email: r.Email, CreditName: r.Credit.Name,
		CreditHandle: r.Credit.Handle, Anonymous: r.Credit.Anonymous, Source: string(r.Source), ReceivedAt: r.ReceivedAt,
		Attachments: []apiAttachment{}}
	if r.CVSSVector != "" {
		score := r.CVSSScore
		out.CVSSScore = &score
	}
	if r.CWE != 0 {
		out.CWE = "CWE-" + strconv.Itoa(r.CWE)
	}
	if !r.DisclosureDate.IsZero() {
		out.DisclosureDate = r.DisclosureDate.Format(time.DateOnly)
	}
	for _, a := range r.Attachments {
		out.Attachments = append(out.Attachments, apiAttachment(a))
	}
	return out
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.Intake.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Cases []apiCase `json:"cases"`
	}{Cases: make([]apiCase, len(cs))}
	for i, c := range cs {
		out.Cases[i] = apiCase{ID: c.Ref, Title: c.Title, State: c.State, CreatedAt: c.CreatedAt}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request) error {
	c, rs, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := struct {
		apiCase
		Reports []apiReport `json:"reports"`
	}{apiCase: apiCase{ID: c.Ref, Title: c.Title, State: c.State, CreatedAt: c.CreatedAt}, Reports: []apiReport{}}
	for _, rep := range rs {
		out.Reports = append(out.Reports, toAPIReport(rep))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type apiScore struct {
	Vector  string  `json:"vector"`
	Version string  `json:"version"`
	Score   float64 `json:"score"`
	Rating  string  `json:"rating"`
}

// apiCVSS scores a vector: the report form's live preview, and a help to
// integrations. It is public and does no I/O.
func (s *Server) apiCVSS(w http.ResponseWriter, r *http.Request) error {
	sc, err := cvss.Parse(r.URL.Query().Get("vector"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiScore{Vector: sc.Vector, Version: sc.Version, Score: sc.Base, Rating: sc.Rating})
	return nil
}
