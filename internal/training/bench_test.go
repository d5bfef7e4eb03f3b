package training

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkCompute: a large vendor's three years of post-mortems (5,000
// lessons over 40 teams, 30 weaknesses, 12 tenets), reported and exported.
func BenchmarkCompute(b *testing.B) {
	end := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	cwes := []int{787, 125, 416, 79, 89, 22, 20, 78, 352, 434, 476, 190, 502, 287, 862, 863, 918, 77, 306, 94, 269, 200, 119, 400, 611, 798, 732, 362, 295, 327}
	lessons := make([]Lesson, 5000)
	for i := range lessons {
		lessons[i] = Lesson{Case: fmt.Sprintf("PD-2026-%04d", i), Team: fmt.Sprintf("team-%d", i%40), Component: fmt.Sprintf("comp-%d", i%97),
			CWE: cwes[i%len(cwes)], Tenet: fmt.Sprintf("tenet %d", i%12), HowFound: []string{"Fuzzing", "Code review", "Researcher"}[i%3],
			At: end.AddDate(0, 0, -(i*1093)%1095)}
	}
	b.ReportAllocs()
	for b.Loop() {
		r := Compute(lessons, Options{End: end, Months: 36})
		if err := WriteCSV(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
