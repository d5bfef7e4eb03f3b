package web

import (
	"io/fs"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/patchday/patchday/internal/staff"
)

// staffRoleProducts may add products and versions.
const staffRoleProducts = staff.RoleReleaseManager

// apiRoute is one JSON API endpoint, guarded by a token with role.
type apiRoute struct {
	pattern string
	role    staff.Role // "" for any staff token, or public
	h       handlerFunc
	public  bool // no token needed
}

// apiRoutes is the JSON API, kept in step with api/openapi.yaml by a test.
func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		{"GET /api/v1/me", "", s.apiMe, false},
		{"GET /api/v1/audit", staff.RoleAdmin, s.apiAudit, false},
		{"GET /api/v1/products", "", s.apiProducts, false},
		{"POST /api/v1/products", staffRoleProducts, s.apiAddProduct, false},
		{"POST /api/v1/products/{name}/versions", staffRoleProducts, s.apiAddVersion, false},
		{"GET /api/v1/cases", "", s.apiCases, false},
		{"GET /api/v1/cases/{id}", "", s.apiCase, false},
		{"POST /api/v1/cases/{id}/transitions", "", s.apiMoveCase, false},
		{"POST /api/v1/cases/{id}/fixes", staff.RoleDeveloper, s.apiUploadFix, false},
		{"POST /api/v1/fixes/{id}/test-runs", staff.RoleTester, s.apiRecordRun, false},
		{"POST /api/v1/reports", "", s.apiSubmitReport, true}, // like the form: no account needed
		{"GET /api/v1/cvss", "", s.apiCVSS, true},
		// Agents: an enrollment token, then the computer's own credential.
		{"POST /api/v1/agent/enroll", "", s.agentEnroll, true},
		{"POST /api/v1/agent/checkin", "", s.agentCheckin, true},
		// Learning: turnaround, post-mortems, tenets, training, briefings.
		{"GET /api/v1/turnaround", "", s.apiTurnaround, false},
		{"GET /api/v1/cases/{id}/postmortem", "", s.apiPostMortem, false},
		{"PUT /api/v1/cases/{id}/postmortem", "", s.apiPutPostMortem, false},
		{"POST /api/v1/cases/{id}/postmortem/comments", "", s.apiCommentPostMortem, false},
		{"GET /api/v1/tenets", "", s.apiTenets, false},
		{"POST /api/v1/tenets", "", s.apiAddTenet, false},
		{"PUT /api/v1/tenets/{id}", "", s.apiPutTenet, false},
		{"GET /api/v1/training", "", s.trainingExport(""), false},
		{"GET /api/v1/releases/{id}/briefing", "", apiBriefingWith(s.apiBriefing), false},
		{"PUT /api/v1/releases/{id}/briefing", "", s.apiPutBriefing, false},
		{"POST /api/v1/releases/{id}/briefing/share", "", apiBriefingWith(s.apiShareBriefing), false},
		// Fleet administration.
		{"GET /api/v1/fleet/updates", "", s.apiFleetUpdates, false},
		{"GET /api/v1/fleet/groups", "", s.apiFleetGroups, false},
		{"PUT /api/v1/fleet/groups/{name}", staff.RoleFleetAdmin, s.apiPutGroup, false},
		{"DELETE /api/v1/fleet/groups/{name}", staff.RoleFleetAdmin, s.apiDeleteGroup, false},
		{"GET /api/v1/fleet/approvals", "", s.apiFleetApprovals, false},
		{"POST /api/v1/fleet/approvals", staff.RoleFleetAdmin, s.apiApprove, false},
		{"DELETE /api/v1/fleet/approvals/{id}", staff.RoleFleetAdmin, s.apiUnapprove, false},
		{"POST /api/v1/fleet/approvals/{id}/acknowledge", staff.RoleFleetAdmin, s.apiAcknowledge, false},
		{"GET /api/v1/fleet/rules", "", s.apiFleetRules, false},
		{"PUT /api/v1/fleet/rules", staff.RoleFleetAdmin, s.apiPutRules, false},
		{"POST /api/v1/fleet/enroll-tokens", staff.RoleFleetAdmin, s.apiCreateToken, false},
		{"GET /api/v1/fleet/computers", "", s.apiFleetComputers, false},
		{"POST /api/v1/fleet/computers/{id}/retire", staff.RoleFleetAdmin, s.apiRetire, false},
		{"GET /api/v1/fleet/compliance", "", s.apiCompliance, false},
	}
}

func (s *Server) routes(mux *http.ServeMux) {
	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /readyz", s.handle(s.readyz))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	// Researchers: no account, no JavaScript needed.
	mux.HandleFunc("GET /.well-known/security.txt", s.securityTxt)
	mux.Handle("GET /calendar.ics", s.handle(s.calendar))
	mux.Handle("GET /advisories", s.handle(s.advisories))
	mux.Handle("GET /advisories/{id}", s.handle(s.publicAdvisory))
	mux.Handle("GET /advisories/{id}/csaf.json", s.handle(s.advisoryCSAF))
	mux.Handle("GET /advisories/{id}/osv.json", s.handle(s.advisoryOSV))
	mux.Handle("GET /advisories/{id}/cve/{cve}", s.handle(s.advisoryCVE))
	mux.Handle("GET /feed.atom", s.handle(s.feed))
	mux.Handle("GET /acknowledgments", s.handle(s.acknowledgments))
	mux.Handle("GET /releases", s.handle(s.publicReleases))
	mux.Handle("GET /subscribe", s.handle(s.subscribePage))
	mux.Handle("POST /subscribe", s.handle(s.subscribe))
	mux.Handle("GET /subscribe/confirm/{token}", s.handle(s.subscriptionStep("confirm")))
	mux.Handle("POST /subscribe/confirm/{token}", s.handle(s.subscriptionStep("confirm")))
	mux.Handle("GET /unsubscribe/{token}", s.handle(s.subscriptionStep("leave")))
	mux.Handle("POST /unsubscribe/{token}", s.handle(s.subscriptionStep("leave")))
	mux.Handle("GET /.well-known/csaf/provider-metadata.json", s.handle(s.providerMetadata))
	mux.Handle("GET /.well-known/csaf/white/", s.handle(s.csafFile))
	mux.Handle("GET /security.txt", http.RedirectHandler("/.well-known/security.txt", http.StatusMovedPermanently))
	mux.Handle("GET /.well-known/pgp-key.asc", s.handle(s.pgpKey)) // security.txt names it: pgpKeyPath
	// Endpoints and downstream servers: the signed catalog.
	mux.Handle("GET /tuf/{name}", s.handle(s.tufMetadata))
	mux.Handle("GET /tuf/targets/{path...}", s.handle(s.tufTarget))
	mux.Handle("GET /content/{sha256}", s.handle(s.content))
	mux.Handle("GET /report", s.handle(s.reportPage))
	mux.Handle("POST /report", s.handle(s.submitReport))
	mux.Handle("GET /r/{link}", s.handle(s.privateCase))
	mux.Handle("POST /r/{link}/messages", s.handle(s.reporterMessage))
	mux.Handle("POST /r/{link}/credit", s.handle(s.reporterCredit))
	mux.Handle("GET /r/{link}/fixes/{sha256}", s.handle(s.reporterFix))
	mux.Handle("POST /r/{link}/verdict", s.handle(s.verdict))

	// Staff pages.
	// The root is the public face: researchers arriving there find the form.
	mux.Handle("GET /{$}", http.RedirectHandler("/report", http.StatusSeeOther))
	mux.Handle("GET /staff/signin", s.handle(s.signinPage))
	mux.Handle("POST /staff/signin", s.handle(s.signin))
	mux.Handle("POST /staff/signout", s.staffPage("", s.signout))
	mux.Handle("GET /staff/password", s.staffPage("", s.passwordPage))
	mux.Handle("POST /staff/password", s.staffPage("", s.changePassword))
	mux.Handle("GET /staff/{$}", s.staffPage("", s.dashboard))
	mux.Handle("GET /staff/audit", s.staffPage(staff.RoleAdmin, s.auditPage))
	mux.Handle("GET /staff/users", s.staffPage(staff.RoleAdmin, s.usersPage))
	mux.Handle("GET /staff/cases", s.staffPage("", s.inbox))
	mux.Handle("GET /staff/cases/{id}", s.staffPage("", s.staffCase))
	mux.Handle("POST /staff/cases/{id}/messages", s.staffPage(staff.RoleTriager, s.staffMessage))
	mux.Handle("POST /staff/cases/{id}/moves", s.staffPage("", s.moveCase))
	mux.Handle("POST /staff/cases/{id}/triage", s.staffPage(staff.RoleTriager, s.triageCase))
	mux.Handle("POST /staff/cases/{id}/flags", s.staffPage("", s.flagCase))
	mux.Handle("POST /staff/cases/{id}/fixes", s.staffPage(staff.RoleDeveloper, s.uploadFix))
	mux.Handle("POST /staff/cases/{id}/fixes/{fix}/runs", s.staffPage(staff.RoleTester, s.recordRun))
	mux.Handle("GET /staff/cases/{id}/files/{sha256}", s.staffPage("", s.caseFile))
	mux.Handle("GET /staff/releases", s.staffPage("", s.releasesPage))
	mux.Handle("POST /staff/releases/advisory", s.staffPage(staff.RoleReleaseManager, s.writeAdvisory))
	mux.Handle("POST /staff/releases/{action}", s.staffPage(staff.RoleReleaseManager, s.releaseAction))
	mux.Handle("GET /staff/advisories", s.staffPage("", s.staffAdvisories))
	mux.Handle("GET /staff/regulatory", s.staffPage("", s.regulatory))
	mux.Handle("GET /staff/compliance", s.staffPage("", s.compliance))
	mux.Handle("GET /staff/turnaround", s.staffPage("", s.turnaroundPage))
	mux.Handle("GET /staff/cases/{id}/postmortem", s.staffPage("", s.postMortemPage))
	mux.Handle("POST /staff/cases/{id}/postmortem", s.staffPage("", s.savePostMortem))
	mux.Handle("POST /staff/cases/{id}/postmortem/comments", s.staffPage("", s.commentPostMortem))
	mux.Handle("GET /staff/tenets", s.staffPage("", s.tenetsPage))
	mux.Handle("POST /staff/tenets", s.staffPage("", s.tenetAction))
	mux.Handle("POST /staff/tenets/{id}", s.staffPage("", s.tenetAction))
	mux.Handle("GET /staff/training", s.staffPage("", s.trainingPage))
	mux.Handle("GET /staff/training.csv", s.staffPage("", s.trainingExport("csv")))
	mux.Handle("GET /staff/training.json", s.staffPage("", s.trainingExport("json")))
	mux.Handle("GET /staff/releases/{id}/briefing", s.staffPage("", s.briefingPage))
	mux.Handle("POST /staff/releases/{id}/briefing", s.staffPage("", s.briefingAction))
	mux.Handle("POST /staff/regulatory", s.staffPage("", s.declareIncident))
	mux.Handle("GET /staff/regulatory/{id}", s.staffPage("", s.craReport))
	mux.Handle("POST /staff/regulatory/{id}/mitigation", s.staffPage("", s.craMitigation))
	mux.Handle("POST /staff/regulatory/{id}/{stage}/{action}", s.staffPage("", s.craStageAction))
	mux.Handle("GET /staff/regulatory/{id}/export/{stage}", s.staffPage("", s.craJSON))
	mux.Handle("GET /staff/regulatory/{id}/print/{stage}", s.staffPage("", s.craPrint))
	mux.Handle("POST /staff/advisories/{id}", s.staffPage(staff.RoleReleaseManager, s.editAdvisory))
	mux.Handle("GET /staff/products", s.staffPage("", s.productsPage))
	mux.Handle("POST /staff/products", s.staffPage(staffRoleProducts, s.addProduct))
	mux.Handle("POST /staff/products/versions", s.staffPage(staffRoleProducts, s.addVersion))

	// Fleet administrators.
	mux.Handle("GET /fleet/{$}", s.staffPage("", s.fleetPage))
	mux.Handle("GET /fleet/computers", s.staffPage("", s.fleetComputers))
	mux.Handle("POST /fleet/computers/{id}/retire", s.staffPage(staff.RoleFleetAdmin, s.fleetRetire))
	mux.Handle("GET /fleet/groups", s.staffPage("", s.fleetGroups))
	mux.Handle("POST /fleet/groups", s.staffPage(staff.RoleFleetAdmin, s.fleetPutGroup))
	mux.Handle("POST /fleet/groups/{name}/delete", s.staffPage(staff.RoleFleetAdmin, s.fleetDeleteGroup))
	mux.Handle("POST /fleet/approvals", s.staffPage(staff.RoleFleetAdmin, s.fleetApprove))
	mux.Handle("POST /fleet/approvals/{id}/{action}", s.staffPage(staff.RoleFleetAdmin, s.fleetApprovalAction))
	mux.Handle("POST /fleet/rules", s.staffPage(staff.RoleFleetAdmin, s.fleetRules))
	mux.Handle("POST /fleet/tokens", s.staffPage(staff.RoleFleetAdmin, s.fleetToken))
	mux.Handle("GET /fleet/compliance.csv", s.staffPage("", s.fleetCSV))
	mux.Handle("GET /fleet", http.RedirectHandler("/fleet/", http.StatusMovedPermanently))

	// JSON API.
	for _, r := range s.apiRoutes() {
		if r.public {
			mux.Handle(r.pattern, s.handle(r.h))
		} else {
			mux.Handle(r.pattern, s.api(r.role, r.h))
		}
	}
	mux.Handle("/api/", s.handle(s.notFound))
	// Everything else gets the same error page as any other failure.
	mux.Handle("/", s.handle(s.notFound))
}
