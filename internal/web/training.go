package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/svgchart"
	"github.com/patchday/patchday/internal/training"
)

// Training reports: what the organisation's post-mortems teach, counted
// by tenet, weakness, component and how flaws were found, worst trend
// first; as a printable page with server-drawn charts, CSV and JSON.

// trainingOptions reads ?team= and ?months= (1–60, default 12).
func (s *Server) trainingOptions(r *http.Request) (training.Options, error) {
	q := r.URL.Query()
	o := training.Options{End: s.Now().UTC(), Months: 12, Team: strings.TrimSpace(q.Get("team"))}
	p := patchday.Problems{}
	if m := q.Get("months"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 60 {
			p.Add("months", fmt.Sprintf("%q is not a number of months from 1 to 60", m))
		}
		o.Months = n
	}
	if utf8.RuneCountInString(o.Team) > 200 || !utf8.ValidString(o.Team) {
		p.Add("team", "is not a team name")
	}
	return o, p.Err("the report could not be made")
}

func (s *Server) trainingReport(r *http.Request) (training.Report, error) {
	o, err := s.trainingOptions(r)
	if err != nil {
		return training.Report{}, err
	}
	lessons, err := s.PostMortems.Lessons(r.Context())
	if err != nil {
		return training.Report{}, err
	}
	return training.Compute(lessons, o), nil
}

type trainingData struct {
	Report  training.Report
	Query   string // team and months as a query string, for the export links
	Monthly template.HTML
	Dims    []trainingDim
	Worst   []trainingRow
	Periods []int
}

type trainingDim struct {
	training.Dimension
	Chart template.HTML
	Rows  []trainingRow
}

type trainingRow struct {
	training.Row
	Title  string // the dimension's title, for the worst-trends table
	Indent int    // CWE depth in the roll-up, for the label's indentation
	Spark  template.HTML
}

func rowView(row training.Row, title string) trainingRow {
	vals := make([]float64, len(row.Counts))
	for i, c := range row.Counts {
		vals[i] = float64(c)
	}
	return trainingRow{Row: row, Title: title, Indent: len(row.Path), Spark: template.HTML(svgchart.Sparkline(vals))}
}

// trend writes a slope for people: "+0.5/month".
func trend(v float64) string {
	if v == 0 {
		return "steady"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "/month"
}

func (s *Server) trainingPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.trainingReport(r)
	if err != nil {
		return err
	}
	q := url.Values{}
	if rep.Team != "" {
		q.Set("team", rep.Team)
	}
	q.Set("months", strconv.Itoa(len(rep.Months)))
	d := trainingData{Report: rep, Query: q.Encode(), Periods: []int{3, 6, 12, 24, 36}}
	titles := map[string]string{}
	for _, dim := range rep.Dimensions {
		titles[dim.Key] = dim.Title
		td := trainingDim{Dimension: dim}
		var bars []svgchart.Bar
		for i, row := range dim.Rows {
			td.Rows = append(td.Rows, rowView(row, dim.Title))
			if i < 12 {
				bars = append(bars, svgchart.Bar{Label: row.Label, Value: float64(row.Total), Note: row.Direction})
			}
		}
		td.Chart = template.HTML(svgchart.Bars(dim.Title+": lessons in the period, worst trend first", bars, svgchart.Options{}))
		d.Dims = append(d.Dims, td)
	}
	for _, row := range rep.Worst {
		d.Worst = append(d.Worst, rowView(row, titles[row.Dimension]))
	}
	d.Monthly = template.HTML(monthlyChart(rep))
	title := "Training report: the whole organisation"
	if rep.Team != "" {
		title = "Training report: " + rep.Team
	}
	s.render(w, r, http.StatusOK, "training.html", page{Title: title, Data: d})
	return nil
}

// monthlyChart draws lessons per month: all of them, and the five tenets
// taught most in the period.
func monthlyChart(rep training.Report) string {
	all := make([]float64, len(rep.Months))
	var series []svgchart.Series
	for _, dim := range rep.Dimensions {
		if dim.Key != "tenet" {
			continue
		}
		byTotal := append([]training.Row(nil), dim.Rows...)
		sortRowsByTotal(byTotal)
		for i, row := range byTotal {
			vals := make([]float64, len(row.Counts))
			for j, c := range row.Counts {
				vals[j] = float64(c)
				all[j] += float64(c)
			}
			if i < 5 {
				series = append(series, svgchart.Series{Name: row.Label, Values: vals})
			}
		}
	}
	series = append([]svgchart.Series{{Name: "All lessons", Values: all}}, series...)
	if rep.Lessons == 0 {
		series = nil
	}
	return svgchart.Lines("Lessons per month, by tenet", rep.Months, series, svgchart.Options{})
}

func sortRowsByTotal(rows []training.Row) {
	for i := 1; i < len(rows); i++ { // insertion sort: stable and short lists
		for j := i; j > 0 && rows[j].Total > rows[j-1].Total; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// trainingExport serves the report as CSV or JSON, by the path's suffix
// (pages) or ?format= (API).
func (s *Server) trainingExport(format string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rep, err := s.trainingReport(r)
		if err != nil {
			return err
		}
		f := format
		if f == "" {
			switch f = r.URL.Query().Get("format"); f {
			case "", "json":
				f = "json"
			case "csv":
			default:
				return patchday.Errorf(patchday.ErrInvalid, "format: %q is neither json nor csv", f)
			}
		}
		var b bytes.Buffer
		name := "training-report"
		if rep.Team != "" {
			name += "-" + strings.Map(func(r rune) rune {
				if r < 0x80 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
					return r
				}
				return '_'
			}, rep.Team)
		}
		if f == "csv" {
			if err := training.WriteCSV(&b, rep); err != nil {
				return err
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			if err := training.WriteJSON(&b, rep); err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
		}
		if format != "" {
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"."+f))
		}
		_, err = w.Write(b.Bytes())
		return err
	}
}

// turnaroundTrend draws the monthly medians of days from report to each
// milestone: is the response getting faster?
func turnaroundTrend(months []string, median func(month, milestone string) (float64, bool), milestones []string, unit string) string {
	var series []svgchart.Series
	for _, m := range milestones {
		vals := make([]float64, len(months))
		any := false
		for i, p := range months {
			v, ok := median(p, m)
			if !ok {
				vals[i] = math.NaN()
				continue
			}
			vals[i], any = v, true
		}
		if any {
			series = append(series, svgchart.Series{Name: "→ " + m, Values: vals})
		}
	}
	return svgchart.Lines("Median days from report, by month reported", months, series, svgchart.Options{Unit: unit})
}
