using System;
using System.Threading;
using ModelDsl.Runtime.Cpu;

namespace ModelDsl.Runtime.Tests.Cpu;

public class CpuWorkersTests
{
    private struct MarkJob : IParallelJob
    {
        public int[] Hits;
        public void Run(int index) => Interlocked.Increment(ref Hits[index]);
    }

    private struct ThrowJob : IParallelJob
    {
        public int Bad;
        public void Run(int index)
        {
            if (index == Bad) throw new InvalidOperationException("boom at " + index);
        }
    }

    private struct NestedJob : IParallelJob
    {
        public int[] Hits;
        public void Run(int index)
        {
            var inner = new MarkJob { Hits = Hits };
            CpuWorkers.Run(in inner, Hits.Length); // nested dispatch runs inline
        }
    }

    [Fact]
    public void EveryIndexRunsExactlyOnce()
    {
        foreach (int count in new[] { 1, 2, 3, 17, 1000 })
        {
            for (int rep = 0; rep < 50; rep++)
            {
                var job = new MarkJob { Hits = new int[count] };
                CpuWorkers.Run(in job, count);
                Assert.All(job.Hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public void ZeroCountDoesNothing()
    {
        var job = new MarkJob { Hits = Array.Empty<int>() };
        CpuWorkers.Run(in job, 0);
        CpuWorkers.Run(in job, -3);
    }

    [Fact]
    public void WorkerExceptionPropagatesToCaller()
    {
        for (int bad = 0; bad < 8; bad++)
        {
            var job = new ThrowJob { Bad = bad };
            var ex = Assert.Throws<InvalidOperationException>(() => CpuWorkers.Run(in job, 8));
            Assert.Equal("boom at " + bad, ex.Message);
        }
        // The pool still works afterwards.
        var ok = new MarkJob { Hits = new int[64] };
        CpuWorkers.Run(in ok, 64);
        Assert.All(ok.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void NestedDispatchDoesNotDeadlock()
    {
        var job = new NestedJob { Hits = new int[16] };
        CpuWorkers.Run(in job, 4);
        Assert.All(job.Hits, h => Assert.Equal(4, h));
    }

    [Fact]
    public void ConcurrentCallersAllComplete()
    {
        var threads = new Thread[4];
        var results = new bool[threads.Length];
        for (int t = 0; t < threads.Length; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                bool ok = true;
                for (int rep = 0; rep < 200; rep++)
                {
                    var job = new MarkJob { Hits = new int[37] };
                    CpuWorkers.Run(in job, 37);
                    foreach (int h in job.Hits) ok &= h == 1;
                }
                results[id] = ok;
            });
            threads[t].Start();
        }
        foreach (var th in threads) th.Join();
        Assert.All(results, Assert.True);
    }

    [Fact]
    public void ConfigureIsSetOnce()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuWorkers.Configure(0));
        var job = new MarkJob { Hits = new int[8] };
        CpuWorkers.Run(in job, 8); // the pool is now fixed (started, or inline when ThreadCount is 1)
        int count = CpuWorkers.ThreadCount;
        Assert.True(count >= 1);
        CpuWorkers.Configure(count); // the same value again is fine
        if (count > 1)
            Assert.Throws<InvalidOperationException>(() => CpuWorkers.Configure(count + 1));
    }
}
