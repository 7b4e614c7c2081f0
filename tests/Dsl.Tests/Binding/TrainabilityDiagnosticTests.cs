using ModelDsl.Dsl.Tests.Support;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// MDL0311 and MDL0312: what the generated code cannot train (or run on a GPU) is said at check time, at the op or
    /// input, instead of a model that checks and then has no <c>TrainStep</c> (or <c>ToGpu</c>) in the user's build.
    /// </summary>
    public class TrainabilityDiagnosticTests
    {
        private static string Model(string input, string label, string body, string loss = "mse(h, y)") =>
            $"model M {{\n    {input}\n    {label}\n    {body}\n    output h\n    loss {loss}\n    optimizer adam()\n}}\n";

        [Fact]
        public void MDL0311_softmax_over_an_axis_other_than_the_last()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("input x: f32[B, 6]", "label y: f32[B, 4]", "h = x -> reshape([B, 2, 3]) -> ⟦softmax(axis=1)⟧ -> flatten -> dense(4)"), "MDL0311");
            Assert.Equal("softmax 'h.1': over axis 1 of [B, 2, 3], but the generated code computes softmax over the last axis only; lay the tensor out with that axis last", d[0].Message);
        }

        [Fact]
        public void MDL0311_concat_of_ids()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("input x: i32[B, 5]", "label y: f32[B, 10, 4]", "c = ⟦concat(x, x)⟧\n    h = embedding(c, 9, 4)"), "MDL0311");
            Assert.Equal("concat 'c': its inputs are i32, but the generated code concatenates f32 tensors only; concatenate the embeddings instead of the ids", d[0].Message);
        }

        [Fact]
        public void MDL0311_an_input_dimension_that_is_a_product()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("⟦input x: f32[B, 2*T, 4]⟧", "⟦label y: f32[B, 2*T, 3]⟧", "h = x -> dense(3)"), "MDL0311", "MDL0311");
            Assert.Equal("input 'x' f32[B, 2*T, 4] has dimension 2*T; each dimension of an input or label must be a number or one symbol, so the generated code can read the sizes from the tensor passed in", d[0].Message);
            Assert.StartsWith("label 'y' f32[B, 2*T, 3] has dimension 2*T;", d[1].Message);
        }

        [Fact]
        public void MDL0312_attention_heads_wider_than_the_gpu_kernels_take()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("input x: f32[B, T, 256]", "label y: f32[B, T, 256]", "h = x -> ⟦attention(1)⟧"), "MDL0312");
            Assert.Equal("attention 'h' has heads 256 wide (d/heads); the GPU kernels hold a head in shared memory, at most 128 wide, so the model gets no GPU half (no ToGpu) and trains on the CPU only; use more heads", d[0].Message);
            // A warning: the model stays, and trains on the CPU.
            var result = Compilation.Compile("test.model", Model("input x: f32[B, T, 256]", "label y: f32[B, T, 256]", "h = x -> attention(1)"));
            var model = Assert.Single(result.Compiled);
            Assert.NotNull(model.Plan);
            Assert.Null(model.Cuda);
        }
    }
}
