package web

import (
	"net/http"
	"strconv"
)

// The compliance page maps the Cyber Resilience Act's vulnerability
// handling requirements to where patchday meets each, from the live
// configuration, so a vendor can show an auditor.

// Requirement states.
const (
	met        = "in place"
	configure  = "needs configuration"
	notBuiltIn = "not provided by patchday yet"
)

type requirement struct {
	Clause, Text string
	Where        string
	Link         string
	Status       string
	Fix          string // what to do when it is not in place
}

func (s *Server) requirements(r *http.Request) []requirement {
	ctx := r.Context()
	status := func(ok bool) string {
		if ok {
			return met
		}
		return configure
	}
	published := 0
	if ds, _, err := s.Releases.PublicList(ctx); err == nil {
		published = len(ds)
	}
	org := s.CRA.Organisation()
	d := s.Disclosure
	mail := s.Subscriptions != nil && s.Subscriptions.Available()
	return []requirement{
		{Clause: "Annex I, Part II (5)", Text: "A policy on coordinated vulnerability disclosure, put in place and enforced",
			Where: "security.txt Policy field; the report form and case handling enforce it", Link: "/.well-known/security.txt",
			Status: status(d.PolicyURL != ""), Fix: "set --security-policy to the policy's URL"},
		{Clause: "Annex I, Part II (6)", Text: "A contact address for reporting vulnerabilities",
			Where: "the report form, e-mail intake and security.txt (RFC 9116)", Link: "/report",
			Status: status(d.SecurityAddress != ""), Fix: "set --security-address (and --smtp to take reports by e-mail)"},
		{Clause: "Annex I, Part II (3)", Text: "Effective and regular tests and reviews of security",
			Where: "the independent test gate: every fix tested by someone other than its author, regressions recorded", Link: "/staff",
			Status: met},
		{Clause: "Annex I, Part II (2), (8)", Text: "Vulnerabilities addressed without delay; security updates disseminated without delay and free of charge",
			Where: "SLA clocks per case, the monthly release train and out-of-band releases", Link: "/staff/releases", Status: met},
		{Clause: "Annex I, Part II (4)", Text: "Information about fixed vulnerabilities publicly disclosed once an update is available",
			Where: "advisories in HTML, CSAF 2.0 (provider directory), OSV, CVE JSON 5 and Atom", Link: "/advisories",
			Status: met + " (" + strconv.Itoa(published) + " published)"},
		{Clause: "Annex I, Part II (8)", Text: "Advisory messages to users with the updates",
			Where: "subscriptions: advance notices and release bulletins by e-mail, and the releases page", Link: "/releases",
			Status: status(mail), Fix: "set --smtp-relay so subscribers get notices and bulletins"},
		{Clause: "Article 14(1)–(4)", Text: "Report actively exploited vulnerabilities and severe incidents to the CSIRT and ENISA (24 h, 72 h, final report)",
			Where: "reporting clocks on the case and the regulatory dashboard, drafts, approval, submissions, reminders", Link: "/staff/regulatory",
			Status: status(org.Name != "" && org.CSIRT != "" && org.MemberState != "" && s.CRAReminders),
			Fix:    "set --cra-org (or --vendor-name), --cra-member-state, --cra-csirt, --cra-contact, --cra-timezone, and --smtp-relay for reminders"},
		{Clause: "Article 14(8)", Text: "Inform impacted users of an actively exploited vulnerability and the measures they can take",
			Where: "advisories and bulletins of exploited vulnerabilities say so and what to do", Link: "/advisories", Status: met},
		{Clause: "Annex I, Part II (7)", Text: "Mechanisms to distribute updates securely",
			Where:  "published updates enter a TUF-signed catalog (/tuf/, /content/), payloads and deltas named by their hashes; customer update servers are planned",
			Status: status(s.Catalog != nil && s.Catalog.Repo() != nil), Fix: "start the server with --tuf-keys (see docs/operations.md, \"Catalog keys\")"},
		{Clause: "Annex I, Part I (2)(c)", Text: "Security updates installed automatically by default, with an opt-out",
			Where: "the endpoint agent", Status: notBuiltIn, Fix: "planned: the agent"},
		{Clause: "Annex I, Part II (1)", Text: "Identify and document components and vulnerabilities, including a software bill of materials",
			Where: "products and versions are kept; SBOMs are not", Status: notBuiltIn, Fix: "keep SBOMs with your build system for now"},
	}
}

type compliancePage struct {
	Requirements []requirement
}

// compliance serves the requirement map to staff.
func (s *Server) compliance(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "compliance.html", page{Title: "Cyber Resilience Act: where patchday meets it",
		Data: compliancePage{Requirements: s.requirements(r)}})
	return nil
}
