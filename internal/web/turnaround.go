package web

import (
	"html/template"
	"net/http"
	"slices"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/turnaround"
)

// turnaroundData is the turnaround page: the figures, grouped into tables.
type turnaroundData struct {
	Report     turnaround.Report
	Milestones []turnaround.Milestone
	Cases      int
	Sections   []turnaroundSection
	Trend      template.HTML // SVG
}

// turnaroundSection is one table: all cases, the trend month by month, by
// product, by severity.
type turnaroundSection struct {
	Title, ID string
	Rows      []labeledRow
}

type labeledRow struct {
	Label string
	turnaround.Row
}

// turnaround computes the figures from every case's audited moves, in
// calendar days or, with ?days=business, business days.
func (s *Server) turnaround(r *http.Request) (turnaround.Report, error) {
	business := false
	switch r.URL.Query().Get("days") {
	case "", "calendar":
	case "business":
		business = true
	default:
		return turnaround.Report{}, patchday.Errorf(patchday.ErrInvalid, "days: %q is neither calendar nor business", r.URL.Query().Get("days"))
	}
	ps, err := s.Products.List(r.Context())
	if err != nil {
		return turnaround.Report{}, err
	}
	names := map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	cs, err := turnaround.Load(r.Context(), s.Cases, func(id int64) string { return names[id] })
	if err != nil {
		return turnaround.Report{}, err
	}
	return turnaround.Compute(cs, s.Now(), business), nil
}

func (s *Server) turnaroundPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.turnaround(r)
	if err != nil {
		return err
	}
	d := turnaroundData{Report: rep, Milestones: turnaround.Milestones}
	all := turnaroundSection{Title: "All cases", ID: "all"}
	periods := turnaroundSection{Title: "By month reported", ID: "periods"}
	products := turnaroundSection{Title: "By product", ID: "products"}
	severities := turnaroundSection{Title: "By severity", ID: "severities"}
	for _, row := range rep.Rows {
		k := row.Key
		switch {
		case k == turnaround.Key{}:
			d.Cases = row.Cases
			all.Rows = append(all.Rows, labeledRow{"all", row})
		case k.Product == "" && k.Severity == "" && k.Period != "":
			periods.Rows = append(periods.Rows, labeledRow{k.Period, row})
		case k.Period == "" && k.Severity == "":
			products.Rows = append(products.Rows, labeledRow{k.Product, row})
		case k.Period == "" && k.Product == "":
			severities.Rows = append(severities.Rows, labeledRow{k.Severity, row})
		}
	}
	d.Sections = []turnaroundSection{all, periods, products, severities}
	// The trend: monthly medians, oldest month first (rows come newest
	// first or in any order; sort them).
	var months []string
	med := map[[2]string]float64{}
	for _, row := range periods.Rows {
		months = append(months, row.Key.Period)
		for name, st := range row.Milestones {
			if st.N > 0 {
				med[[2]string{row.Key.Period, name}] = st.Median
			}
		}
	}
	slices.Sort(months)
	names := make([]string, len(turnaround.Milestones))
	for i, m := range turnaround.Milestones {
		names[i] = m.Name
	}
	unit := "days"
	if rep.Business {
		unit = "business days"
	}
	d.Trend = template.HTML(turnaroundTrend(months, func(month, milestone string) (float64, bool) {
		v, ok := med[[2]string{month, milestone}]
		return v, ok
	}, names, unit))
	s.render(w, r, http.StatusOK, "turnaround.html", page{Title: "Turnaround", Data: d})
	return nil
}

func (s *Server) apiTurnaround(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.turnaround(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
