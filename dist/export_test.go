package dist

// SetMaxCount lowers the largest count one MPI call is given, and returns the function that
// restores it.
func SetMaxCount(n int) func() {
	old := maxCount
	maxCount = n
	return func() { maxCount = old }
}
