// Each test starts two processes on what may be a 2-core machine: one test at a time, so their ranks are not
// starved into the watchdog's timeout by each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
