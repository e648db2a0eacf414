package i18n

import "github.com/trcledger/trcledger/internal/locale"

// ToCyrillic transliterates Serbian Latin text to Serbian Cyrillic (locale.ToCyrillic).
func ToCyrillic(s string) string { return locale.ToCyrillic(s) }
