package api

// portalRoutes lists the app-portal access routes and the portal's own
// pages (owned by the portal work; see issue 4).
func (s *Server) portalRoutes() []route {
	return nil
}
