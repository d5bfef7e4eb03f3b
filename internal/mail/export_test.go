package mail

// Message and File are parse's results, for the tests.
type (
	Message = message
	File    = file
)

// Parse decodes a raw message, for the tests.
func Parse(raw []byte) Message { return parse(raw, nil) }

// ParseDecrypt decodes and decrypts a raw message, for the tests.
func ParseDecrypt(raw []byte, dec Decrypter) Message { return parse(raw, dec) }
