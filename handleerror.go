package sessionstore

import "net/http"

// HandleError answers r on w for an error of Open or Save the way
// [Manager.Handler] does: with the ErrorHandler when one is set, else by
// logging err with Logger and replying 500 Internal Server Error (unless err
// wraps ErrHeaderSent, or is only r's own context cancelled by a client that
// went away, which is logged at level Debug and gets no reply).
//
// It is for middleware of your own around Open and Save (fiberstore's for
// Fiber is one), so that a store error there gets the same answer as under
// Handler.
func (m *Manager) HandleError(w http.ResponseWriter, r *http.Request, err error) {
	m.handleError(w, r, err)
}
