using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Dsl.Tests.Emit
{
    /// <summary>Where the CUDA emitter fuses a residual add with the layer_norm after it (docs/cuda.md, "Fused residual + layer norm").</summary>
    public class ResidualLayerNormTests
    {
        private static (CudaModule Module, TrainingPlan Plan) Compile(string body)
        {
            var result = Compilation.Compile("m.model", "model M {\n" + body + "\n}\n");
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            var compiled = Assert.Single(result.Compiled);
            return (compiled.Cuda!, compiled.Plan!);
        }

        [Fact]
        public void A_residual_add_then_layer_norm_is_one_warp_per_row_kernel_writing_the_sum_and_the_norm()
        {
            var (module, plan) = Compile("""
                input x: f32[B, T, 32]
                label y: f32[B, T, 32]
                h = x -> dense(32) -> dropout(0.1)
                r = x + h
                out = r -> layer_norm
                output out
                loss mse(out, y)
                optimizer sgd(lr=0.1)
                """);

            var norm = plan.Forward.OfType<LayerNormKernel>().Single();
            var sum = Assert.IsType<ElementwiseKernel>(module.FusedLayerNorms[norm]);
            Assert.Equal(sum.Name + "_layer_norm", module.Launches[sum].Name);
            Assert.Equal(LaunchShape.WarpPerRow, module.Launches[sum].Shape);
            Assert.Contains($"// {sum.Name}_layer_norm: fused residual + layer norm, one warp per row of [B*T, 32]:", module.Source);
            // The launch passes the layer norm's parameters and outputs besides the chain's.
            var buffers = module.Launches[sum].Arguments.Select(a => a.Buffer?.Name).ToList();
            Assert.Contains(norm.Weight.Name, buffers);
            Assert.Contains(norm.Output.Name, buffers);
            Assert.Contains(norm.Mean.Name, buffers);
            Assert.Contains(norm.Rstd.Name, buffers);
            Assert.Contains(norm.Input.Name, buffers);
        }

        [Fact]
        public void A_layer_norm_after_a_dense_bias_alone_keeps_its_launch_and_the_bias_its_epilogue()
        {
            var (module, plan) = Compile("""
                input x: f32[B, 32]
                label y: f32[B, 32]
                out = x -> dense(32) -> layer_norm
                output out
                loss mse(out, y)
                optimizer sgd(lr=0.1)
                """);

            Assert.Empty(module.FusedLayerNorms);
            Assert.Contains(module.Epilogues.Values, e => e.Kind == EpilogueKind.Bias);
        }
    }
}
