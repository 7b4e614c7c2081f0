using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Cuda.Tests.Generated;

/// <summary>
/// Every launch the CUDA emitter describes (generated kernels, the loss, the optimizer) passes its kernel's parameters,
/// by the signatures <see cref="KernelSignature"/> parses from the module's own source: names, count and types, in order
/// (the layer library's kernels are launched by ModelDsl.Cuda.Layers, which checks each launch itself:
/// Layers/LayerLauncherTests). And the modules hold the families their plans use, with working memory sized for the
/// launchers.
/// </summary>
public sealed class ModuleLaunchTests
{
    [Fact]
    public void Every_launch_passes_its_kernels_parsed_parameters_in_order_with_their_types()
    {
        int checkedLaunches = 0;
        foreach (var (model, module) in ExampleModels.CudaModules(out _))
        {
            var declared = KernelSignature.ParseAll(module.Source, model + ".cu").ToDictionary(k => k.Name);
            var launches = module.Launches.Values.Append(module.LossMean);
            if (module.Loss is { } loss) launches = launches.Append(loss);
            if (module.Optimizer is { } optimizer) launches = launches.Append(optimizer);
            if (module.GradientSumOfSquares is { } norm) launches = launches.Append(norm);
            foreach (CudaLaunch launch in launches)
            {
                Assert.True(declared.TryGetValue(launch.Name, out var kernel), $"{model}: {launch.Name} is launched but not declared in the module");
                // The launch's arguments as a declaration, through the same parser: its types normalise the same way.
                var bound = KernelSignature.Parse($"extern \"C\" __global__ void {launch.Name}({string.Join(", ", launch.Arguments.Select(a => a.Declaration))})");
                Assert.Equal(kernel!.Parameters, bound.Parameters);
                checkedLaunches++;
            }
        }
        Assert.True(checkedLaunches > 100, $"only {checkedLaunches} launches were checked");
    }

    [Fact]
    public void A_module_holds_each_layer_family_its_plan_uses_once_after_the_prelude()
    {
        foreach (var (model, plan, module) in ExampleModels.CudaPlans(out _))
        {
            var families = plan.Forward.Concat(plan.Backward).SelectMany(CudaEmitter.FamiliesOf).Distinct().ToList();
            families.Add(LayerFamily.Bf16); // every module: md_act, the activation storage type (precision bf16: also the conversions)
            int prelude = module.Source.IndexOf(CudaEmitter.PreludeText.TrimEnd('\n'), StringComparison.Ordinal);
            Assert.True(prelude >= 0, model + ": no prelude");
            foreach (LayerFamily family in Enum.GetValues<LayerFamily>())
            {
                string first = CudaLayerLibrary.Source(family).Split('\n')[0];
                int count = Regex.Matches(module.Source, Regex.Escape(first)).Count;
                Assert.True(count == (families.Contains(family) ? 1 : 0), $"{model}: {family} appears {count} times");
                if (count == 1)
                {
                    int at = module.Source.IndexOf(first, StringComparison.Ordinal);
                    Assert.True(at > prelude, $"{model}: {family} comes before the prelude");
                    // Right before it, the .model lines that use it, like every generated kernel.
                    string header = $"// Cuda/Kernels/{CudaLayerLibrary.FileName(family)}, used by:\n", before = module.Source[..at];
                    int usedBy = before.LastIndexOf(header, StringComparison.Ordinal);
                    Assert.True(usedBy >= 0, $"{model}: {family} has no 'used by' comment naming its file");
                    Assert.Matches(family == LayerFamily.Bf16
                        ? @"^//   every kernel of this module: md_act, .+\n(//   \w+\.model:\d+  precision bf16\n)?$"
                        : @"^(//   \w+\.model:\d+  .+\n)+$", before[(usedBy + header.Length)..]);
                }
            }
            // bf16.cuh first among the families: the others declare md_act pointers.
            int bf16 = module.Source.IndexOf(CudaLayerLibrary.Source(LayerFamily.Bf16).Split('\n')[0], StringComparison.Ordinal);
            foreach (LayerFamily family in families.Where(f => f != LayerFamily.Bf16))
            {
                int at = module.Source.IndexOf(CudaLayerLibrary.Source(family).Split('\n')[0], StringComparison.Ordinal);
                Assert.True(bf16 < at, $"{model}: {family} comes before bf16.cuh");
            }
        }
    }

    [Fact]
    public void The_layer_models_get_working_memory_sized_by_the_library()
    {
        var modules = ExampleModels.CudaModules(out _).ToDictionary(m => m.Model, m => m.Module);
        // conv2d: every image's columns, B·C·k·k·H'·W', then (trained) each image's weight gradient B·K·C·k·k and B ones;
        // lstm: the CPU layout, 6·B·T·H + 2·B·H; attention: each row's max and log-sum, kept apart so a fully padded
        // row keeps its precision, and delta: 3·B·heads·T (CharGpt has 4 heads).
        Assert.Equal(new[] { "7056*B", "288*B", "B" }, Lengths(modules["FashionCnn"]).First());
        Assert.Equal(new[] { "56448*B", "18432*B", "B" }, Lengths(modules["FashionCnn"]).Last());
        Assert.All(modules["FashionCnn"].Workspaces.Values, w => Assert.True(w.EndsWithOnes));
        Assert.Equal(new[] { "768*B*T", "256*B" }, Lengths(modules["FortuneLstm"]).Single());
        Assert.All(Lengths(modules["CharGpt"]), l => Assert.Equal(new[] { "12*B*T" }, l));
    }

    [Theory]
    [InlineData(128, true)]
    [InlineData(256, false)]
    public void A_model_whose_attention_heads_exceed_the_librarys_head_dim_gets_no_cuda_rendering(int headDim, bool rendered)
    {
        // One head of headDim: the attention kernels stage a head's rows in static shared memory, 128 floats at most.
        string text = $$"""
            model Wide {
                input x: f32[B, T, {{headDim}}]
                label y: f32[B, T, {{headDim}}]
                h = x -> attention(1, causal=true)
                output h
                loss mse(h, y)
                optimizer sgd(lr=0.1)
            }
            """;
        var result = ModelDsl.Compilation.Compile("wide.model", text);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var plan = ModelDsl.Autodiff.PlanBuilder.TryBuild(result.Models.Single(), out _);
        Assert.NotNull(plan);
        Assert.Equal(rendered, CudaEmitter.TryEmit(plan!, result.Text) is not null);
    }

    private static IEnumerable<string[]> Lengths(CudaModule module) =>
        module.Workspaces.Values.Select(w => w.Length.Select(d => d.ToExpression().Replace(" ", "")).ToArray());
}
