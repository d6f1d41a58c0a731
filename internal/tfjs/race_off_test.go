//go:build !race

package tfjs_test

const raceEnabled = false
