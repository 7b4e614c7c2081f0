using ModelDsl.Cuda.Interop;
using ModelDsl.Runtime.Distributed;

namespace ModelDsl.Cuda.Tests.Interop;

/// <summary>
/// The NCCL binding's own logic without NCCL (none is installed here). The calls themselves run end to end in
/// tests/Distributed.Tests against the stand-in library (a test double, not NCCL).
/// </summary>
public sealed class NcclBindingTests
{
    [Theory]
    [InlineData(2708, "2.7.8")]     // before 2.9: X*1000 + Y*100 + Z
    [InlineData(20903, "2.9.3")]    // since 2.9: X*10000 + Y*100 + Z
    [InlineData(21903, "2.19.3")]
    [InlineData(22703, "2.27.3")]
    public void The_version_code_reads_in_both_of_ncclGetVersion_encodings(int code, string text) =>
        Assert.Equal(text, Nccl.FormatVersion(code));

    [Fact]
    public void A_missing_library_says_what_to_install_and_names_every_path_tried()
    {
        var error = Assert.Throws<DistributedUnavailableException>(() => Nccl.Load(["/nonexistent/libnccl.so.2", "/nonexistent/libnccl.so"]));
        Assert.StartsWith("data-parallel training on GPUs needs NCCL, and no libnccl could be loaded (tried /nonexistent/libnccl.so.2, /nonexistent/libnccl.so: ", error.Message);
        Assert.Contains("apt-get install libnccl2", error.Message);
        Assert.Contains("MODELDSL_NCCL_LIBRARY", error.Message);
    }

    [Fact]
    public void The_unique_id_is_the_128_bytes_of_nccl_h() =>
        Assert.Equal(128, System.Runtime.CompilerServices.Unsafe.SizeOf<ncclUniqueId>());
}
