using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>Compiled modules are cached on disk by content; concurrent compiles and launches of one module do not interfere.</summary>
public sealed class EmulationCacheTests(ITestOutputHelper output)
{
    // A module no earlier run has compiled: the GUID in the comment changes its hash.
    private static string FreshSource() => $$"""
        // cache test {{Guid.NewGuid():N}}
        extern "C" __global__ void add_one(float* x, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) x[i] += 1.0f;
        }
        """;

    [Fact]
    public void SecondLoad_ReusesTheCompiledLibrary()
    {
        string source = FreshSource();
        using GpuContext context = GpuContext.OpenEmulated();

        var watch = Stopwatch.StartNew();
        context.LoadModule("cache_test", source).Dispose();
        TimeSpan compile = watch.Elapsed;
        string folder = FolderOf(source);
        string library = Path.Combine(folder, "module.so");
        DateTime built = File.GetLastWriteTimeUtc(library);

        watch.Restart();
        using GpuModule again = context.LoadModule("cache_test", source);
        TimeSpan cached = watch.Elapsed;
        output.WriteLine($"compile {compile.TotalMilliseconds:0} ms, cached load {cached.TotalMilliseconds:0.0} ms, in {folder}");

        Assert.Equal(built, File.GetLastWriteTimeUtc(library));
        Assert.Equal(new[] { "cache_test.cu", "cuda_emulation.h", "module.so", "module.so.sha256", "thunks.cpp" }, Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("modeldsl_launch_add_one", File.ReadAllText(Path.Combine(folder, "thunks.cpp")));
        Run(context, again, 100);
        Directory.Delete(folder, recursive: true);  // a one-off module: do not leave it in the cache
    }

    public enum Damage { Truncated, Empty, BitFlipped, RecordMissing, RecordOfAnotherBuild }

    /// <summary>
    /// A damaged <c>module.so</c> (or its checksum record) is rebuilt on the next load and runs correctly: before the
    /// check, dlopen mapped whatever was there (SIGBUS for a truncated file, SIGILL/SIGSEGV or wrong results for a
    /// flipped bit, a CudaException on every run for an empty file).
    /// </summary>
    [Theory]
    [InlineData(Damage.Truncated)]
    [InlineData(Damage.Empty)]
    [InlineData(Damage.BitFlipped)]
    [InlineData(Damage.RecordMissing)]
    [InlineData(Damage.RecordOfAnotherBuild)]
    public void DamagedCacheEntry_IsRebuiltAndRunsCorrectly(Damage damage)
    {
        string source = FreshSource();
        using (GpuContext first = GpuContext.OpenEmulated())
        using (GpuModule module = first.LoadModule("damaged_cache_test", source)) Run(first, module, 100);
        // Both disposed: the library is unloaded, so changing the file in place cannot fault this process.
        string folder = FolderOf(source);
        string library = Path.Combine(folder, "module.so");
        string record = library + ".sha256";
        byte[] good = File.ReadAllBytes(library);
        Assert.Null(Cuda.Emulation.EmulationCompiler.CacheProblem(library));

        switch (damage)
        {
            case Damage.Truncated:
                using (var stream = new FileStream(library, FileMode.Open, FileAccess.Write)) stream.SetLength(good.Length / 2);
                break;
            case Damage.Empty:
                using (var stream = new FileStream(library, FileMode.Open, FileAccess.Write)) stream.SetLength(0);
                break;
            case Damage.BitFlipped:
                // A byte in the middle of the file: the code or data of the module, not just its ELF header.
                using (var stream = new FileStream(library, FileMode.Open, FileAccess.ReadWrite))
                {
                    stream.Position = good.Length / 2;
                    int b = stream.ReadByte();
                    stream.Position = good.Length / 2;
                    stream.WriteByte((byte)(b ^ 0x10));
                }
                break;
            case Damage.RecordMissing:
                File.Delete(record);
                break;
            case Damage.RecordOfAnotherBuild:
                File.WriteAllText(record, "modeldsl-emulated-module v1 bytes=1 sha256=" + new string('0', 64) + "\n");
                break;
        }
        string? problem = Cuda.Emulation.EmulationCompiler.CacheProblem(library);
        output.WriteLine($"{damage}: {problem}");
        Assert.NotNull(problem);

        using (GpuContext second = GpuContext.OpenEmulated())
        using (GpuModule module = second.LoadModule("damaged_cache_test", source)) Run(second, module, 1000);

        Assert.Null(Cuda.Emulation.EmulationCompiler.CacheProblem(library));
        Assert.Equal(good.Length, new FileInfo(library).Length);
        Assert.DoesNotContain(Directory.GetFiles(folder), f => f.Contains(".tmp-", StringComparison.Ordinal));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void ConcurrentCompilesOfOneModule_BothLoad()
    {
        string source = FreshSource();
        Parallel.For(0, 3, _ =>
        {
            using GpuContext context = GpuContext.OpenEmulated();
            using GpuModule module = context.LoadModule("concurrent_cache_test", source);
            Run(context, module, 1000);
        });
        string folder = FolderOf(source);
        Assert.DoesNotContain(Directory.GetFiles(folder), f => f.Contains(".tmp-", StringComparison.Ordinal));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void ConcurrentLaunchesOfOneModule_KeepSharedMemoryApart()
    {
        // Two contexts on two threads load the same library; each thread's blocks need their own __shared__ array.
        const int blocks = 64, n = blocks * 256;
        Parallel.For(0, 4, worker =>
        {
            using GpuContext context = GpuContext.OpenEmulated();
            using GpuModule module = context.LoadModule(TestKernels.ModuleName, TestKernels.Source);
            float[] x = Enumerable.Range(0, n).Select(i => (float)((i + worker) % 17)).ToArray();
            using DeviceVariable dx = context.Allocate(n * 4), sums = context.Allocate(blocks * 4);
            dx.CopyFrom<float>(x);
            var arguments = new KernelArguments();
            arguments.Add(dx);
            arguments.Add(sums);
            arguments.Add(n);
            for (int repeat = 0; repeat < 20; repeat++)
            {
                module.GetKernel("block_sum").Launch(new Dim3(blocks), new Dim3(256), ref arguments);
                var result = new float[blocks];
                sums.CopyTo<float>(result);
                for (int b = 0; b < blocks; b++) Assert.Equal(x.Skip(b * 256).Take(256).Sum(), result[b]);
            }
        });
    }

    private static void Run(GpuContext context, GpuModule module, int n)
    {
        using DeviceVariable x = context.Allocate(n * 4);
        var arguments = new KernelArguments();
        arguments.Add(x);
        arguments.Add(n);
        module.GetKernel("add_one").Launch(Dim3.Cover(n, 128), new Dim3(128), ref arguments);
        var values = new float[n];
        x.CopyTo<float>(values);
        Assert.All(values, v => Assert.Equal(1f, v));
    }

    private static string FolderOf(string source) =>
        Directory.GetDirectories(Cuda.Emulation.EmulatedContext.CacheDirectory)
            .Single(d => Directory.GetFiles(d, "*.cu").Any(f => File.ReadAllText(f) == source));
}
