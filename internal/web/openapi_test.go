package web

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes keeps api/openapi.yaml and the JSON API routes
// in step: every route is described, and every described path is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f, err := os.Open("../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pathRE := regexp.MustCompile(`^  (/\S+):\s*$`)
	methodRE := regexp.MustCompile(`^    (get|post|put|patch|delete):\s*$`)
	var described []string
	path := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := pathRE.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := methodRE.FindStringSubmatch(line); m != nil && path != "" {
			described = append(described, strings.ToUpper(m[1])+" "+path)
		} else if !strings.HasPrefix(line, " ") {
			path = ""
		}
	}
	if len(described) == 0 {
		t.Fatal("no paths found in api/openapi.yaml")
	}
	slices.Sort(described)
	var routes []string
	for _, r := range (&Server{}).apiRoutes() {
		routes = append(routes, r.pattern)
	}
	slices.Sort(routes)
	if !slices.Equal(described, routes) {
		t.Errorf("api/openapi.yaml describes\n  %s\nbut the server routes\n  %s", strings.Join(described, "\n  "), strings.Join(routes, "\n  "))
	}
}
