using System;
using System.Text.RegularExpressions;
using ModelDsl.Cuda.Interop;
using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Interop;

public class NvrtcCompilerTests
{
    // A block reduction of the kind the generated code uses: static shared memory, barriers, warp shuffles.
    internal const string BlockSumSource = """
        extern "C" __global__ void block_sum(const float* __restrict__ x, float* __restrict__ out, int n)
        {
            __shared__ float partial[32];
            float v = 0.0f;
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
            for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
            if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
            __syncthreads();
            if (threadIdx.x < 32)
            {
                v = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : 0.0f;
                for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
                if (threadIdx.x == 0) atomicAdd(out, v);
            }
        }
        """;

    [NvrtcTheory]
    [InlineData("compute_80", "sm_80")]
    [InlineData("compute_90", "sm_90")]
    public void CompileToPtx_KernelWithSharedMemoryAndShuffles_HasEntryAndTarget(string architecture, string target)
    {
        string ptx = NvrtcCompiler.CompileToPtx(BlockSumSource, "block_sum_test", architecture);

        Assert.Matches(@"\.visible \.entry block_sum\(", ptx);
        Assert.Matches(new Regex($@"^\.target {target}\b", RegexOptions.Multiline), ptx);
        Assert.Contains("shfl.sync.bfly", ptx);
        Assert.Contains("bar.sync", ptx);
        Assert.Contains(".shared", ptx);
        Assert.DoesNotContain('\0', ptx); // NVRTC's terminator is not part of the text
    }

    [NvrtcFact]
    public void CompileToPtx_SyntaxError_ThrowsWithProgramNameErrorNameAndNvrtcLog()
    {
        const string source = """
            extern "C" __global__ void broken(float* x)
            {
                x[threadIdx.x] = 1.0f
            }
            """;

        var error = Assert.Throws<CudaException>(() => NvrtcCompiler.CompileToPtx(source, "broken_kernel", "compute_80"));

        Assert.IsNotType<CudaUnavailableException>(error);
        Assert.StartsWith("nvrtcCompileProgram('broken_kernel', --gpu-architecture=compute_80 -std=c++17 --fmad=true) failed: NVRTC_ERROR_COMPILATION (6); NVRTC log:\n", error.Message);
        // NVRTC's own diagnostic, located by program name and line.
        Assert.Matches(@"broken_kernel\(4\): error: expected a "";""", error.Message);
    }

    [NvrtcFact]
    public void Version_IsMajorDotMinorOfTheLoadedLibrary()
    {
        Assert.Matches(@"^\d+\.\d$", NvrtcCompiler.Version);
        Assert.True(NvrtcCompiler.IsAvailable(out string reason));
        Assert.Equal($"NVRTC {NvrtcCompiler.Version} ({Nvrtc.Shared!.Library})", reason);
    }

    [NvrtcFact]
    public void ArchitectureFor_UsesTheDeviceArchitectureWhenSupported_OtherwiseTheNewestBelow()
    {
        Assert.Contains(80, NvrtcCompiler.SupportedArchitectures);
        Assert.Contains(90, NvrtcCompiler.SupportedArchitectures);
        Assert.Equal("compute_80", NvrtcCompiler.ArchitectureFor(8, 0));
        Assert.Equal("compute_90", NvrtcCompiler.ArchitectureFor(9, 0));
    }

    [Fact]
    public void ChooseArchitecture_PicksTheNewestSupportedAtOrBelowTheDevice()
    {
        int[] supported = [50, 60, 70, 75, 80, 86, 89, 90];

        Assert.Equal("compute_86", NvrtcCompiler.ChooseArchitecture(86, supported, "11.8"));
        Assert.Equal("compute_80", NvrtcCompiler.ChooseArchitecture(81, supported, "11.8"));
        Assert.Equal("compute_90", NvrtcCompiler.ChooseArchitecture(100, supported, "11.8"));
        Assert.Equal("compute_120", NvrtcCompiler.ChooseArchitecture(120, [], "10.0"));
        var error = Assert.Throws<CudaUnavailableException>(() => NvrtcCompiler.ChooseArchitecture(35, supported, "11.8"));
        Assert.Equal("NVRTC 11.8 cannot compile for sm_35: it supports compute_50 to compute_90", error.Message);
    }

    [Fact]
    public void Options_AreFixedAndNeverFastMath()
    {
        Assert.Equal(["--gpu-architecture=compute_90", "-std=c++17", "--fmad=true"], NvrtcCompiler.Options("compute_90"));
    }

    [Theory]
    [InlineData("sm_80")]
    [InlineData("compute_")]
    [InlineData("compute_8x0")]
    [InlineData("80")]
    public void CompileToPtx_RejectsWhatIsNotAVirtualArchitecture(string architecture)
    {
        var error = Assert.Throws<ArgumentException>(() => NvrtcCompiler.CompileToPtx("", "p", architecture));
        Assert.Contains($"'{architecture}' is not a virtual architecture such as compute_80", error.Message);
    }

    [Fact]
    public void MissingLibrary_ReasonListsEverySonameTriedAndTheDebianPackage()
    {
        Assert.Equal(
            "NVRTC not found: tried libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so.11.2, libnvrtc.so (on Debian: add the non-free component and apt-get install libnvrtc11.2)",
            Nvrtc.NotFoundMessage(Nvrtc.LibraryNames));

        (Nvrtc? nvrtc, string reason) = Nvrtc.TryLoad(["libnvrtc-modeldsl-missing.so.99"]);

        Assert.Null(nvrtc);
        Assert.Equal("NVRTC not found: tried libnvrtc-modeldsl-missing.so.99 (on Debian: add the non-free component and apt-get install libnvrtc11.2)", reason);
    }
}
