package sessionstore

import "context"

// Observer receives what a Manager does, for traces and metrics; package
// otelsession provides one for OpenTelemetry. Set it as Manager.Observer.
// Its methods are called from the request path: they must be safe for
// concurrent use and quick.
type Observer interface {
	// Begin is called as the Manager starts a step of a request: opening
	// its session or saving it. The store calls of the step use the context
	// it returns (a span's, say), and end is called with the step's error
	// (nil on success) when it ends.
	Begin(ctx context.Context, step Step) (stepCtx context.Context, end func(err error))

	// Event is called once for each event of a session's life. ctx is the
	// context of the step in which it happened.
	Event(ctx context.Context, e Event)
}

// Step is a step of a request that an Observer sees begin and end.
type Step uint8

// The steps of a request.
const (
	StepOpen Step = iota // Manager.Open, or the middleware's load
	StepSave             // Manager.Save, or the middleware's save
)

// String returns "open" or "save".
func (s Step) String() string {
	if s == StepOpen {
		return "open"
	}
	return "save"
}

// Event is something that happened to a session, as an Observer sees it.
type Event uint8

// The events of a session's life.
const (
	EventCreated     Event = iota // a new session was stored under a fresh id
	EventRenewed                  // a session got a fresh id (RenewID, LogIn)
	EventDestroyed                // Destroy deleted a stored session
	EventRevoked                  // Revoke, RevokeSession or RevokeAll ended a session
	EventExpired                  // a cookie named no live session: expired, revoked or unknown
	EventUndecodable              // a stored session did not decode and was replaced
	EventConflict                 // a compare-and-swap lost to another process: the latest record is reloaded, then merged and retried (or, if the session ended, EventDropped)
	EventDropped                  // a request's changes were dropped: its session ended meanwhile
)

var eventNames = [...]string{"created", "renewed", "destroyed", "revoked", "expired", "undecodable", "conflict", "dropped"}

// String returns the event's name in lower case ("created", ...).
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "unknown"
}

// observe calls the Observer's Event, if any.
func (m *Manager) observe(ctx context.Context, e Event) {
	if m.Observer != nil {
		m.Observer.Event(ctx, e)
	}
}

// begin starts step with the Observer, if any.
func (m *Manager) begin(ctx context.Context, step Step) (context.Context, func(error)) {
	if m.Observer == nil {
		return ctx, nil
	}
	return m.Observer.Begin(ctx, step)
}
