package billing

// SetBeforeMark installs a hook that runs after Stripe accepted a meter
// event and before the ledger transaction: the tests' crash point.
func SetBeforeMark(s *Service, f func(Bucket) error) { s.beforeMark = f }
