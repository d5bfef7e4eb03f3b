package pgp

// WithMax returns a copy of k whose Decrypt refuses more than n bytes.
func WithMax(k *Key, n int64) *Key {
	c := *k
	c.max = n
	return &c
}
