using System.IO;
using System.Linq;
using ModelDsl.Analysis;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>
    /// MDL0310 (a tensor, parameter, workspace or the parameter arena past 32-bit indexing) and MDL0117 (a model that
    /// unrolls to more ops than code generation takes): what the back end cannot build is refused by the checker, at
    /// the .model line, instead of failing the build in generated C# (CS0266) or in the generator (MDL9999).
    /// </summary>
    public sealed class BuildLimitTests
    {
        private static CompilationResult Compile(string text) => Compilation.Compile("test.model", text);

        /// <summary>The diagnostics with <paramref name="id"/>, each as "line: source text of its span: message".</summary>
        private static string[] Located(CompilationResult result, string id) =>
            result.Diagnostics.Where(d => d.Id == id)
                .Select(d => $"{result.Text.GetLinePosition(d.Span.Start).Line + 1}: {result.Text.ToString(d.Span)}: {d.Message}")
                .ToArray();

        private const string Tail = "    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}\n";

        [Fact]
        public void A_hidden_size_past_64_bit_products_is_MDL0310_at_the_layer_not_MDL9999()
        {
            var result = Compile("config { hidden = 123456789012 }\nmodel M {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(hidden) -> dense(10)\n" + Tail);
            Assert.Empty(result.Models);
            var located = Located(result, "MDL0310");
            Assert.Contains(located, l => l.StartsWith("5: dense(hidden): dense 'logits.0' output f32[B, hidden=123456789012] holds 123,456,789,012 elements for each B;"));
            Assert.Contains(located, l => l.StartsWith("5: dense(hidden): parameter 'logits.0.weight' [hidden=123456789012, 8] holds 987,654,312,096 elements;"));
            Assert.Contains(located, l => l.StartsWith("5: dense(10): parameter 'logits.1.weight' [10, hidden=123456789012] holds 1,234,567,890,120 elements;"));
            Assert.All(located, l => Assert.Contains("the limit is 2,147,483,591", l));
        }

        [Fact]
        public void The_largest_long_as_units_is_MDL0310()
        {
            var result = Compile("model M {\n    input x: f32[B, 8]\n    label y: i32[B]\n    logits = x -> dense(9223372036854775807)\n" + Tail);
            Assert.Empty(result.Models);
            Assert.Contains(Located(result, "MDL0310"), l => l.StartsWith("4: dense(9223372036854775807): parameter 'logits.weight' [9223372036854775807, 8] holds 73,786,976,294,838,206,456 elements"));
        }

        [Fact]
        public void An_input_whose_fixed_part_passes_the_limit_is_MDL0310_at_the_input()
        {
            var result = Compile("config { features = 2147483647 }\nmodel M {\n    input x: f32[B, features]\n    label y: i32[B]\n    logits = x -> dense(10)\n" + Tail);
            var located = Located(result, "MDL0310");
            Assert.Contains(located, l => l.StartsWith("3: input x: f32[B, features]: input 'x' f32[B, features=2147483647] holds 2,147,483,647 elements for each B;"));
        }

        [Fact]
        public void An_embedding_table_past_the_limit_is_MDL0310_at_the_embedding()
        {
            var result = Compile("config { vocab = 3000000000 }\nmodel M {\n    input idx: i32[B, T]\n    label y: i32[B, T]\n    tok = embedding(idx, vocab, 16)\n    logits = tok -> dense(10)\n" + Tail);
            Assert.Equal(
                ["5: embedding(idx, vocab, 16): parameter 'tok.weight' [vocab=3000000000, 16] holds 48,000,000,000 elements; generated code indexes tensors with 32-bit integers and keeps each in one array, so the limit is 2,147,483,591; use smaller sizes"],
                Located(result, "MDL0310"));
        }

        [Fact]
        public void MDL0310_marks_the_layer_whose_table_is_too_large()
        {
            var d = Support.AnnotatedText.AssertDiagnostics("config { vocab = 3000000000 }\nmodel M {\n    input idx: i32[B, T]\n    label y: i32[B, T]\n    tok = ⟦embedding(idx, vocab, 16)⟧\n    logits = tok -> dense(10)\n" + Tail, "MDL0310");
            Assert.Contains("parameter 'tok.weight' [vocab=3000000000, 16] holds 48,000,000,000 elements", d[0].Message);
        }

        [Fact]
        public void MDL0117_marks_the_largest_repeat()
        {
            var d = Support.AnnotatedText.AssertDiagnostics("model M {\n    input x: f32[B, 4]\n    label y: i32[B]\n    logits = x -> dense(4) -> ⟦repeat 1001 relu⟧\n" + Tail, "MDL0117");
            Assert.Contains("model 'M' unrolls to 1,002 ops, more than the 1,000", d[0].Message);
            Assert.Contains("this repeat (1001×) is the largest part", d[0].Message);
        }

        [Fact]
        public void Parameters_each_in_range_but_together_past_the_gpu_arena_are_MDL0310_at_the_model()
        {
            // 1.5e9 + 0.75e9 + 0.75e9 elements (and padding): each fits an array, the one arena the GPU keeps them in does not.
            var result = Compile("model Big {\n    input x: f32[B, 2]\n    label y: i32[B]\n    h = x -> dense(750000000)\n    logits = h -> dense(1)\n" + Tail);
            Assert.Equal(
                ["1: Big: the parameter arena of model 'Big' (all its parameters, as the GPU lays them out; the largest is 'h.weight' [750000000, 2]) holds 3,000,000,064 elements; generated code indexes tensors with 32-bit integers and keeps each in one array, so the limit is 2,147,483,591; use smaller sizes"],
                Located(result, "MDL0310"));
        }

        [Fact]
        public void A_convolution_workspace_past_the_limit_is_MDL0310_at_the_convolution()
        {
            // Every tensor and the weight are small; conv2d's im2col workspace [C·k·k, H'·W'] = [900, 1971²] is not.
            var result = Compile("model C {\n    input x: f32[B, 1, 2000, 2000]\n    label y: i32[B]\n    h = x -> conv2d(1, kernel=30) -> avg_pool2d(kernel=1971)\n    logits = h -> flatten -> dense(2)\n" + Tail);
            var located = Located(result, "MDL0310");
            Assert.Single(located);
            Assert.StartsWith("4: conv2d(1, kernel=30): the workspace buffer [900, 3884841] of conv2d 'h.0' holds 3,496,356,900 elements;", located[0]);
        }

        [Fact]
        public void Sizes_just_inside_the_limit_pass()
        {
            var result = Compile("model Edge {\n    input x: f32[B, 2147483591]\n    h = x -> relu\n    output h\n}\n");
            Assert.DoesNotContain(result.Diagnostics, d => d.IsError);
            Assert.Single(result.Models);
        }

        private static string CharGpt(int layers)
        {
            string text = File.ReadAllText(Path.Combine(Fuzz.FuzzInputs.RepoRoot, "examples", "CharGpt", "char_gpt.model"));
            Assert.Contains("layers = 4", text);
            return text.Replace("layers = 4", $"layers = {layers}");
        }

        [Fact]
        public void A_repeat_that_unrolls_past_the_op_limit_is_MDL0117_at_the_repeat()
        {
            var result = Compile(CharGpt(1024));
            Assert.Empty(result.Models);
            Assert.Equal(
                ["26: repeat layers TransformerBlock(d, heads): model 'CharGpt' unrolls to 10,245 ops, more than the 1,000 that code generation takes: its generated code would be about 87 MB and take the C# compiler minutes; this repeat (1024×) is the largest part; reduce repeat counts or depth"],
                Located(result, "MDL0117"));
        }

        [Fact]
        public void The_deepest_char_gpt_under_the_limit_checks_clean()
        {
            // 10 ops per block and 5 around them: 99 blocks are 995 ops; 100 are 1,005.
            var deepest = Compile(CharGpt(99));
            Assert.DoesNotContain(deepest.Diagnostics, d => d.IsError);
            Assert.Equal(995, deepest.Models.Single().Nodes.Count);
            Assert.Single(Located(Compile(CharGpt(100)), "MDL0117"));
            Assert.Equal(1000, BuildLimits.MaxOps);
        }
    }
}
