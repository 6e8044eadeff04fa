package sessionstore

import "slices"

// FlashMessage is a message stored for the next page the visitor sees, in
// the manner of Flask's flash: "saved", "wrong password", "logged out".
type FlashMessage struct {
	// Category groups messages, for example "info", "error" or "success".
	Category string
	// Message is the text shown.
	Message string
}

// Flash adds a message in category, kept until a request takes it with
// [Session.Flashes]. Flash messages are kept apart from the values: Keys,
// Len and Values do not show them, but they do make the session non-empty,
// so a message added after [Session.Destroy] or [Session.Clear] is saved.
func (s *Session) Flash(category, message string) {
	s.lock()
	defer s.mu.Unlock()
	s.record(op{kind: opFlash, flash: FlashMessage{Category: category, Message: message}})
}

// Flashes removes and returns the flash messages of the given categories in
// the order they were added; with no category, all of them. It is Flask's
// get_flashed_messages with a category filter, except that messages of other
// categories stay in the session for a later call.
func (s *Session) Flashes(categories ...string) []FlashMessage {
	s.lock()
	defer s.mu.Unlock()
	out := s.matchFlashes(categories)
	for _, f := range out {
		s.record(op{kind: opTakeFlash, flash: f})
	}
	return out
}

// PeekFlashes returns the flash messages of the given categories (all with
// none) without removing them.
func (s *Session) PeekFlashes(categories ...string) []FlashMessage {
	s.lock()
	defer s.mu.Unlock()
	return s.matchFlashes(categories)
}

// matchFlashes returns the flashes of the categories, all with none. The
// caller holds s.mu.
func (s *Session) matchFlashes(categories []string) []FlashMessage {
	var out []FlashMessage
	for _, f := range s.flashes {
		if len(categories) == 0 || slices.Contains(categories, f.Category) {
			out = append(out, f)
		}
	}
	return out
}
