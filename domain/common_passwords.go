package domain

// commonPasswords is a built-in list of passwords that appear at the top of
// every breach corpus. It is checked case-insensitively and never modified.
var commonPasswords = map[string]struct{}{
	"password": {}, "password1": {}, "password12": {}, "password123": {}, "password1234": {},
	"passw0rd": {}, "p@ssw0rd": {}, "p@ssword": {}, "12345678": {}, "123456789": {}, "1234567890": {},
	"0123456789": {}, "87654321": {}, "11111111": {}, "00000000": {}, "12341234": {}, "123123123": {},
	"1q2w3e4r": {}, "1q2w3e4r5t": {}, "qwertyui": {}, "qwerty123": {}, "qwertyuiop": {},
	"qwerty12": {}, "asdfghjk": {}, "asdfghjkl": {}, "zxcvbnm1": {}, "iloveyou": {}, "iloveyou1": {},
	"sunshine": {}, "princess": {}, "football": {}, "baseball": {}, "welcome1": {}, "welcome123": {},
	"letmein1": {}, "letmein123": {}, "trustno1": {}, "superman": {}, "batman123": {}, "starwars": {},
	"whatever": {}, "computer": {}, "michelle": {}, "jennifer": {}, "charlie1": {}, "dragon123": {},
	"monkey123": {}, "shadow12": {}, "master123": {}, "abc12345": {}, "abcd1234": {}, "abcdefgh": {},
	"aa123456": {}, "admin123": {}, "administrator": {}, "changeme": {}, "changeme1": {},
	"default1": {}, "secret12": {}, "secret123": {}, "qazwsxedc": {}, "1qaz2wsx": {}, "zaq12wsx": {},
	"passpass": {}, "testtest": {}, "test1234": {}, "hello123": {}, "freedom1": {}, "whatever1": {},
	"mustang1": {}, "access14": {}, "liverpool": {}, "chelsea1": {}, "arsenal1": {}, "pokemon1": {},
	"minecraft": {}, "samsung1": {}, "google123": {}, "computer1": {}, "internet": {},
	"butterfly": {}, "jordan23": {}, "michael1": {}, "1234qwer": {}, "qwer1234": {}, "98765432": {},
	"987654321": {}, "gatehouse": {}, "letmeinplease": {},
}

// IsCommonPassword reports whether the lower-cased password is on the
// built-in list.
func IsCommonPassword(lower string) bool {
	_, ok := commonPasswords[lower]
	return ok
}
