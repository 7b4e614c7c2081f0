using ModelDsl.Cuda.Tests.Support;

namespace ModelDsl.Cuda.Tests.Interop;

public class TestRequirementsTests
{
    [Fact]
    public void SkipReason_SkipsOnlyOutsideCi()
    {
        Assert.Equal("NVRTC not found: ...", TestRequirements.SkipReason(false, "NVRTC not found: ...", isCi: false));
        Assert.Null(TestRequirements.SkipReason(false, "NVRTC not found: ...", isCi: true)); // runs, and fails with the reason
        Assert.Null(TestRequirements.SkipReason(true, "NVRTC 11.8 (libnvrtc.so.11.2)", isCi: false));
    }
}
