package source

import "time"

// Progress receives news about downloads. [Fetch] calls Start once for
// each file it downloads, from the goroutine that downloads it, so an
// implementation must be safe for concurrent use. A nil Progress in
// [Options] means [NoProgress].
type Progress interface {
	// Start announces a download of item and returns the [Transfer] that
	// follows it to its end.
	Start(item Item) Transfer
}

// Transfer follows one download. Its methods are called from one
// goroutine at a time.
type Transfer interface {
	// Size reports, at the start of each attempt, the file's total size
	// (-1 when unknown) and how many bytes are already there (a resumed
	// download starts above zero).
	Size(total, have int64)
	// Add reports n more bytes received.
	Add(n int64)
	// Retry reports that attempt failed with err and the next one starts
	// after wait.
	Retry(attempt int, err error, wait time.Duration)
	// Done ends the transfer; err is nil on success.
	Done(err error)
}

// NoProgress is a [Progress] that reports nothing.
var NoProgress Progress = noProgress{}

type noProgress struct{}

func (noProgress) Start(Item) Transfer { return noTransfer{} }

type noTransfer struct{}

func (noTransfer) Size(int64, int64)               {}
func (noTransfer) Add(int64)                       {}
func (noTransfer) Retry(int, error, time.Duration) {}
func (noTransfer) Done(error)                      {}
