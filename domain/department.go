package domain

import "strconv"

// IleDeFrance lists the region's departments in the order the consultation
// matrix shows them.
var IleDeFrance = []string{"75", "77", "78", "91", "92", "93", "94", "95"}

// ValidDepartment reports whether code is a French department: 01-95 without
// 20 (Corsica is 2A and 2B), and the overseas 971-976.
func ValidDepartment(code string) bool {
	switch len(code) {
	case 2:
		if code == "2A" || code == "2B" {
			return true
		}
		n, err := strconv.Atoi(code)
		return err == nil && code[0] >= '0' && code[0] <= '9' && n >= 1 && n <= 95 && n != 20
	case 3:
		n, err := strconv.Atoi(code)
		return err == nil && code[0] == '9' && n >= 971 && n <= 976
	}
	return false
}
