using System;
using ModelDsl.Cuda.Interop;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>The real driver on this machine (none on CI), and the error texts every failed call is reported with.</summary>
public class CudaContextTests
{
    [Fact]
    public void OpenCuda_WithoutDriver_ThrowsExactlyNoCudaDriver()
    {
        if (CudaDriver.Shared is null)
        {
            var error = Assert.Throws<CudaUnavailableException>(() => GpuContext.OpenCuda());
            Assert.Equal("no CUDA driver: libcuda.so.1 could not be loaded", error.Message);
            return;
        }

        // A machine with a driver: either a working device, described, or a reason that is not the missing driver.
        try
        {
            using GpuContext context = GpuContext.OpenCuda();
            Assert.False(context.IsEmulated);
            Assert.Matches(@"^.+ \(sm_\d+, driver \d+\.\d+\)$", context.DeviceName);
        }
        catch (CudaUnavailableException e)
        {
            Assert.NotEqual(CudaDriver.NotFoundMessage, e.Message);
            Assert.NotEmpty(e.Message);
        }
    }

    [Fact]
    public void ForDevice_MapsTheDeviceOptionAndRejectsOthersByName()
    {
        Assert.Null(GpuContext.ForDevice("cpu"));
        using (var emulated = GpuContext.ForDevice("emulated"))
            Assert.True(emulated!.IsEmulated);
        var error = Assert.Throws<ArgumentException>(() => GpuContext.ForDevice("gpu"));
        Assert.Contains("unknown device 'gpu': expected cpu, cuda or emulated", error.Message);
    }

    [Fact]
    public void OpenCuda_WithoutDriver_ReportsTheDriverBeforeTheOrdinal()
    {
        if (CudaDriver.Shared is not null) return; // only meaningful without a driver
        var error = Assert.Throws<CudaUnavailableException>(() => GpuContext.OpenCuda(3));
        Assert.Equal("no CUDA driver: libcuda.so.1 could not be loaded", error.Message);
    }

    [Fact]
    public void DriverErrors_NameTheCallTheErrorAndItsText()
    {
        Assert.Equal("cuMemAlloc_v2(268435456 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory",
            CudaDriver.FormatError("cuMemAlloc_v2(268435456 bytes)", CUresult.CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"));
        Assert.Equal("CUDA_ERROR_ILLEGAL_ADDRESS", CudaDriver.FallbackName(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS));
        Assert.Equal("unrecognised CUresult", CudaDriver.FallbackName((CUresult)12345));
    }

    [Theory]
    [InlineData(12040, "12.4")]
    [InlineData(11080, "11.8")]
    [InlineData(13000, "13.0")]
    [InlineData(12090, "12.9")]
    public void DriverVersion_IsMajorDotMinor(int version, string expected) =>
        Assert.Equal(expected, CudaDriver.FormatVersion(version));

    [Fact]
    public void CublasErrors_FallBackToTheDocumentedNamesAndDescriptions()
    {
        Assert.Equal("CUBLAS_STATUS_INVALID_VALUE", Cublas.FallbackName(cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE));
        Assert.Equal("an invalid numeric value was used as an argument", Cublas.FallbackDescription(cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE));
        Assert.Equal("unrecognised cublasStatus_t", Cublas.FallbackName((cublasStatus_t)99));
        Assert.Equal(
            "cuBLAS not found: tried libcublas.so.13, libcublas.so.12, libcublas.so.11 (on Debian: add the non-free component and apt-get install libcublas11)",
            Cublas.NotFoundMessage(Cublas.LibraryNames));
        (Cublas? cublas, string reason) = Cublas.TryLoad(["libcublas-modeldsl-missing.so.99"]);
        Assert.Null(cublas);
        Assert.StartsWith("cuBLAS not found: tried libcublas-modeldsl-missing.so.99 ", reason);
    }
}
