using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;
using static ModelDsl.Dsl.Tests.Binding.TrainingControlTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary><c>precision fp32|tf32|bf16</c>: how it parses and binds, and its diagnostics (MDL0125, MDL0327).</summary>
    public class PrecisionTests
    {
        [Fact]
        public void Without_a_statement_the_precision_is_fp32()
        {
            var precision = Check(WithControls("")).Precision;
            Assert.Same(PrecisionInfo.Default, precision);
            Assert.Equal(Precision.Fp32, precision.Mode);
        }

        [Theory]
        [InlineData("fp32", Precision.Fp32)]
        [InlineData("tf32", Precision.Tf32)]
        [InlineData("bf16", Precision.Bf16)]
        public void Each_mode_binds(string word, Precision mode)
        {
            var text = WithControls("    precision " + word);
            var precision = Check(text).Precision;
            Assert.Equal(mode, precision.Mode);
            Assert.Equal(word, precision.Describe());
            Assert.Equal("precision " + word, text.Substring(precision.Span.Start, precision.Span.Length));
        }

        [Fact]
        public void Precision_is_not_reserved()
        {
            var graph = Check(WithControls("    precision bf16", "    precision = x -> dense(hidden) -> relu\n    logits = precision -> dense(classes)"));
            Assert.Equal(Precision.Bf16, graph.Precision.Mode);
        }

        [Fact]
        public void MDL0125_an_unknown_precision_suggests_the_closest()
        {
            var d = AnnotatedText.AssertDiagnostics(WithControls("    precision ⟦bf61⟧"), "MDL0125");
            Assert.Contains("'bf61' is not a precision; did you mean 'bf16'? (precisions: fp32, tf32, bf16)", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(WithControls("    precision ⟦fp16⟧"), "MDL0125");
            Assert.Equal("'fp16' is not a precision; did you mean 'fp32'? (precisions: fp32, tf32, bf16)", d[0].Message);
        }

        [Fact]
        public void Precision_twice_or_in_a_block_is_an_error_at_the_statement()
        {
            AnnotatedText.AssertDiagnostics(WithControls("    precision bf16\n    ⟦precision tf32⟧"), "MDL0204");
            AnnotatedText.AssertDiagnostics(
                "block B(x) {\n    ⟦precision bf16⟧\n    return x -> relu\n}\n" + WithControls("", "    h = x -> dense(hidden) -> B()\n    logits = h -> dense(classes)"),
                "MDL0210");
        }

        [Fact]
        public void MDL0327_a_layer_whose_products_stay_fp32_in_a_bf16_model_is_a_warning_at_the_op()
        {
            // While lstm.cuh takes FP32 activations, MDL0328 says so at the precision line too.
            bool floatOnly = !ModelDsl.Emit.Cuda.ActivationStorage.TakesActivations(ModelDsl.Emit.Cuda.LayerFamily.Lstm);
            string text = $$"""
                model M {
                    input x: f32[B, T, 8]
                    label y: f32[B, 4]
                    h = x -> ⟦lstm(16)⟧
                    logits = h -> dense(4)
                    output logits
                    loss mse(logits, y)
                    optimizer adamw()
                    {{(floatOnly ? "⟦precision bf16⟧" : "precision bf16")}}
                }
                """;
            var d = AnnotatedText.AssertDiagnostics(text, floatOnly ? new[] { "MDL0327", "MDL0328" } : new[] { "MDL0327" });
            Assert.Contains("lstm 'h' has no BF16 path: its matrix products are made by its GPU layer launcher in FP32; the rest of the model runs in bf16", d[0].Message);
            // The same model in fp32 says nothing.
            Assert.Empty(ModelDsl.Compilation.Compile("m.model", text.Replace("⟦", "").Replace("⟧", "").Replace("bf16", "fp32")).Diagnostics);
        }

        // A bf16 model stores its activations in BF16 only when every layer family it launches takes md_act; the first
        // that does not is named in a warning at the precision line, and the model's GPU code then keeps them in FP32.
        [Theory]
        [InlineData("f32[B, 8]", "h = x -> layer_norm -> dense(4)", "layer_norm 'h.0'", ModelDsl.Emit.Cuda.LayerFamily.LayerNorm)]
        [InlineData("f32[B, 8]", "h = x -> softmax -> dense(4)", "softmax 'h.0'", ModelDsl.Emit.Cuda.LayerFamily.Softmax)]
        [InlineData("f32[B, 5, 8]", "h = x -> ⟦gru(8)⟧ -> dense(4)", "gru 'h.0'", ModelDsl.Emit.Cuda.LayerFamily.Gru)]
        [InlineData("f32[B, 1, 6, 6]", "h = x -> ⟦conv2d(2, 3)⟧ -> flatten -> dense(4)", "conv2d 'h.0'", ModelDsl.Emit.Cuda.LayerFamily.Conv2d)]
        public void MDL0328_activations_stay_fp32_while_a_layer_family_takes_float_pointers(string input, string line, string op, ModelDsl.Emit.Cuda.LayerFamily family)
        {
            bool floatOnly = !ModelDsl.Emit.Cuda.ActivationStorage.TakesActivations(family);
            string text = $$"""
                model M {
                    input x: {{input}}
                    label y: f32[B, 4]
                    {{line}}
                    output h
                    loss mse(h, y)
                    optimizer adamw()
                    {{(floatOnly ? "⟦precision bf16⟧" : "precision bf16")}}
                }
                """;
            string[] expected = (family is ModelDsl.Emit.Cuda.LayerFamily.Gru or ModelDsl.Emit.Cuda.LayerFamily.Conv2d ? new[] { "MDL0327" } : System.Array.Empty<string>())
                .Concat(floatOnly ? new[] { "MDL0328" } : System.Array.Empty<string>()).ToArray();
            var d = AnnotatedText.AssertDiagnostics(text, expected).Where(x => x.Id == "MDL0328").ToList();
            if (floatOnly)
                Assert.Equal($"precision bf16: activations stay FP32 in a Bf16 session, because {op} runs the layer kernels of Cuda/Kernels/{ModelDsl.Emit.Cuda.CudaLayerLibrary.FileName(family)}, which do not store BF16 activations yet; the matrix products still take BF16 operands (docs/cuda.md \"Precision\")", d[0].Message);
            // A model with no layer family (dense, gelu, dropout, the loss: all generated code) always stores BF16, and says nothing.
            Assert.Empty(AnnotatedText.AssertDiagnostics(text.Replace(line, "h = x -> dense(16) -> gelu -> dense(4)").Replace(input, "f32[B, 8]").Replace("⟦", "").Replace("⟧", "")));
        }
    }
}
