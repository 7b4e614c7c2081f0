using System;
using System.Collections.Generic;
using ModelDsl.Cuda.Layers;
using ModelDsl.Emit.Cuda;
using Xunit.Abstractions;

namespace ModelDsl.Cuda.Tests.Layers;

/// <summary>
/// One run of a family's kernels in one activation storage (md_act = float, or md_bf16: the module compiled with
/// <c>#define MD_ACT_BF16 1</c>): device buffers for activations in that storage, float buffers for everything else, and
/// the outputs read back as floats, each marked activation or not, for <see cref="ActivationStorageParity"/> to compare.
/// </summary>
internal sealed class ActivationStorage : IDisposable
{
    private readonly LayerKernelFixture _gpu;
    private readonly List<DeviceVariable> _owned = new();
    private readonly List<(string Name, DeviceVariable Variable, long Count, bool Activation, double Slack)> _outputs = new();

    /// <param name="gpu">The emulated device and its modules.</param>
    /// <param name="family">The family whose module runs.</param>
    /// <param name="bf16">BF16 activation buffers (else float).</param>
    /// <param name="moduleBf16">The module's md_act, when it is not the buffers' (only for the negative control: a
    /// mixed-up storage). Activation buffers are allocated 4 bytes per element whatever the storage, so that such a
    /// mix-up reads and writes inside them.</param>
    /// <param name="bf16Path">The launchers take the launch sequence of BF16 activations (a <see cref="LayerContext"/>
    /// of 2-byte activations) whatever the module: so that a float module runs the same sequence as a BF16 one where a
    /// launcher has a sequence of its own for BF16 (lstm).</param>
    public ActivationStorage(LayerKernelFixture gpu, LayerFamily family, bool bf16, bool? moduleBf16 = null, bool bf16Path = false)
        : this(gpu, new[] { family }, bf16, moduleBf16, bf16Path)
    {
    }

    /// <summary>A run on one module holding <paramref name="families"/> (a bidirectional recurrence: its family and sequence.cuh).</summary>
    public ActivationStorage(LayerKernelFixture gpu, LayerFamily[] families, bool bf16, bool? moduleBf16 = null, bool bf16Path = false)
    {
        _gpu = gpu;
        Bf16 = bf16;
        var layers = gpu.Layers(moduleBf16 ?? bf16, families);
        Layers = bf16Path && !layers.Bf16Activations ? new LayerContext(gpu.Context, layers.Module, activationBytes: 2) : layers;
    }

    public bool Bf16 { get; }

    public LayerContext Layers { get; }

    /// <summary>An activation input (md_act).</summary>
    public DevicePointer Activation(float[] values)
    {
        var variable = Own(_gpu.Zeros(values.Length));
        if (Bf16) variable.CopyFrom<ushort>(Array.ConvertAll(values, BFloat16.Round));
        else variable.CopyFrom<float>(values);
        return variable.Pointer;
    }

    /// <summary>A float input (a parameter, a gradient, statistics, a mask given as float).</summary>
    public DevicePointer Floats(float[] values) => Own(_gpu.Upload(values)).Pointer;

    public DevicePointer Ints(int[] values) => Own(_gpu.Upload(values)).Pointer;

    public DevicePointer UInts(uint[] values) => Own(_gpu.Upload(values)).Pointer;

    /// <summary>
    /// An activation output of <paramref name="count"/> elements, zeroed, read back by <see cref="Read"/>. A nonzero
    /// <paramref name="slack"/> is the absolute difference allowed on top of the rounding where the two storages compute
    /// the value by different code (another summation order: <see cref="ActivationStorageParity"/>).
    /// </summary>
    public DevicePointer ActivationOutput(string name, long count, double slack = 0)
    {
        var variable = Own(_gpu.Zeros(count));
        _outputs.Add((name, variable, count, true, slack));
        return variable.Pointer;
    }

    /// <summary>
    /// A float output (a gradient, statistics) starting from <paramref name="initial"/> (what an accumulating kernel adds
    /// to); bit for bit unless <paramref name="slack"/> allows an absolute difference (see <see cref="ActivationOutput"/>).
    /// </summary>
    public DevicePointer FloatOutput(string name, float[] initial, double slack = 0)
    {
        var variable = Own(_gpu.Upload(initial));
        _outputs.Add((name, variable, initial.Length, false, slack));
        return variable.Pointer;
    }

    /// <summary>A zeroed float output of <paramref name="count"/> elements.</summary>
    public DevicePointer FloatOutput(string name, long count) => FloatOutput(name, new float[count]);

    /// <summary>An int output (pool and max indices), compared exactly.</summary>
    public DevicePointer IntOutput(string name, long count)
    {
        var variable = Own(_gpu.Zeros(count));
        _outputs.Add((name, variable, -count, false, 0));
        return variable.Pointer;
    }

    /// <summary>Every output, by name, as floats (ints converted exactly), with whether it is an activation.</summary>
    public IReadOnlyList<Output> Read()
    {
        var values = new List<Output>();
        foreach (var (name, variable, count, activation, slack) in _outputs)
        {
            if (count < 0)
            {
                int[] ints = _gpu.Download<int>(variable, -count);
                values.Add(new Output(name, Array.ConvertAll(ints, i => (float)i), false, 0));
            }
            else values.Add(new Output(name, activation ? _gpu.DownloadActivations(variable, count, Bf16) : _gpu.Download(variable, count), activation, slack));
        }
        return values;
    }

    public void Dispose()
    {
        foreach (var variable in _owned) variable.Dispose();
    }

    private DeviceVariable Own(DeviceVariable variable)
    {
        _owned.Add(variable);
        return variable;
    }
}

/// <summary>
/// The BF16 activation-storage check of a layer family: the same launches, on the same inputs, in the FP32 compilation
/// (md_act = float) and the BF16 one (md_act = md_bf16), compared output by output.
/// </summary>
/// <remarks>
/// <para>
/// Every activation input is drawn BF16-representable (<see cref="Bf16Values"/>), so both compilations read the same
/// values (md_load widens exactly) and compute the same float operations in the same order; g++ compiles both without
/// FMA contraction or fast-math. Hence:
/// </para>
/// <list type="bullet">
/// <item>an activation output is the FP32 result rounded once on its store (md_act_from, to nearest even):
/// |bf16 − fp32| ≤ u·|fp32| with u = 2^-8 (<see cref="UnitRoundoff"/>), and it is a BF16 value;</item>
/// <item>a float output (gradients, statistics, indices) is computed from identical values: it must be equal, bit for bit.</item>
/// </list>
/// <para>
/// Where the two storages compute a value by different code (conv2d's forward product: cuBLAS for float, a kernel of
/// its own for BF16), the output carries a slack, the absolute difference two summation orders may make, derived at the
/// test: |bf16 − fp32| ≤ u·|fp32| + (1 + u)·slack for an activation, ≤ slack for a float.
/// </para>
/// <para>
/// A kernel that stored float bits into a BF16 buffer, or read BF16 storage as floats, produces values unrelated to the
/// FP32 result (a float's upper half as one BF16, its lower half as the next), which both bounds reject;
/// <c>Mixed_up_storage_fails_the_comparison</c> shows it. A launcher passing an md_act pointer as float (or a kernel left
/// with float*) fails earlier, at the argument check (<see cref="LayerArguments.ReadsActivation"/>).
/// </para>
/// </remarks>
/// <summary>One output read back: its values as floats, whether it is an activation, and its slack (see <see cref="ActivationStorage.ActivationOutput"/>).</summary>
internal sealed record Output(string Name, float[] Values, bool Activation, double Slack);

internal static class ActivationStorageParity
{
    /// <summary>
    /// u = 2^-8: the largest relative error of one rounding to BF16. BF16 keeps 8 significant bits (7 stored and the
    /// implicit one), so values in [2^e, 2^(e+1)) are 2^(e−7) apart and rounding to nearest moves one by at most
    /// 2^(e−8) ≤ 2^-8·|x|.
    /// </summary>
    public const double UnitRoundoff = 1.0 / 256;

    /// <summary><paramref name="count"/> values uniform in [low, high), rounded to BF16 (so both storages hold them exactly).</summary>
    public static float[] Bf16Values(Random random, long count, float low = -1f, float high = 1f)
    {
        float[] values = LayerAssert.Uniform(random, count, low, high);
        for (long i = 0; i < count; i++) values[i] = BFloat16.Quantize(values[i]);
        return values;
    }

    /// <summary>Runs <paramref name="launch"/> in both storages and asserts the bounds above for every output.</summary>
    public static void Check(LayerKernelFixture gpu, ITestOutputHelper output, LayerFamily family, Action<ActivationStorage> launch, bool bf16Path = false) =>
        Check(gpu, output, new[] { family }, launch, bf16Path);

    /// <summary><see cref="Check(LayerKernelFixture, ITestOutputHelper, LayerFamily, Action{ActivationStorage}, bool)"/> on one module holding <paramref name="families"/>.</summary>
    public static void Check(LayerKernelFixture gpu, ITestOutputHelper output, LayerFamily[] families, Action<ActivationStorage> launch, bool bf16Path = false)
    {
        IReadOnlyList<Output> Run(bool bf16)
        {
            using var storage = new ActivationStorage(gpu, families, bf16, bf16Path: bf16Path);
            launch(storage);
            return storage.Read();
        }
        int failures = Compare(output, Run(false), Run(true), out string first);
        Assert.True(failures == 0, $"{string.Join(" + ", families)}: {failures} outputs break the BF16 storage bounds; {first}");
    }

    /// <summary>The outputs of <paramref name="launch"/> with <paramref name="reference"/>'s module in FP32 and <paramref name="tested"/>'s in BF16.</summary>
    public static (IReadOnlyList<Output> Fp32, IReadOnlyList<Output> Bf16)
        RunBoth(LayerKernelFixture gpu, LayerFamily reference, LayerFamily tested, Action<ActivationStorage> launch, bool bf16Path = false)
    {
        IReadOnlyList<Output> Run(LayerFamily family, bool bf16)
        {
            using var storage = new ActivationStorage(gpu, family, bf16, bf16Path: bf16Path);
            launch(storage);
            return storage.Read();
        }
        return (Run(reference, false), Run(tested, true));
    }

    /// <summary>How many outputs break their bound (0 = all within), writing each output's largest difference.</summary>
    public static int Compare(ITestOutputHelper output, IReadOnlyList<Output> fp32,
        IReadOnlyList<Output> bf16, out string first)
    {
        Assert.Equal(fp32.Count, bf16.Count);
        int failedOutputs = 0;
        first = "";
        for (int o = 0; o < fp32.Count; o++)
        {
            var (name, expected, activation, slack) = fp32[o];
            float[] actual = bf16[o].Values;
            Assert.Equal(expected.Length, actual.Length);
            double largest = 0;
            int failures = 0, at = -1;
            for (int i = 0; i < expected.Length; i++)
            {
                double e = expected[i], a = actual[i];
                bool ok;
                if (double.IsNaN(e) || double.IsNaN(a)) ok = double.IsNaN(e) && double.IsNaN(a);
                else if (activation) ok = Math.Abs(a - e) <= UnitRoundoff * Math.Abs(e) + (1 + UnitRoundoff) * slack && BFloat16.Quantize(actual[i]) == actual[i];
                else if (slack > 0) ok = Math.Abs(a - e) <= slack;
                else ok = BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (e == 0 && a == 0);
                if (!double.IsNaN(e) && !double.IsNaN(a)) largest = Math.Max(largest, Math.Abs(a - e) / Math.Max(Math.Abs(e), 1e-30));
                if (ok) continue;
                failures++;
                if (at < 0) at = i;
            }
            string bound = (activation ? "≤ 2^-8 relative (one rounding)" : slack > 0 ? "" : "bit for bit") + (slack > 0 ? $"{(activation ? " + " : "≤ ")}{slack:0.##e+0} (another summation order)" : "");
            output.WriteLine($"{name} ({(activation ? "md_act" : "float")}): max relative |bf16 − fp32| = {largest:0.###e+0} over {expected.Length} values, bound {bound}: {(failures == 0 ? "ok" : failures + " fail")}");
            if (failures == 0) continue;
            if (failedOutputs++ == 0)
                first = $"{name} ({bound}): {failures} of {expected.Length} values, first [{at}]: fp32 {expected[at]:R}, bf16 {actual[at]:R}";
        }
        return failedOutputs;
    }
}
