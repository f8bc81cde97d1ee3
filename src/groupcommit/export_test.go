package groupcommit

// Done is closed when w's writer goroutine has ended.
func Done[B Tx](w *Writer[B]) <-chan struct{} { return w.done }
