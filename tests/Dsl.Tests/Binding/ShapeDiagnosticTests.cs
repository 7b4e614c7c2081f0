using ModelDsl.Dsl.Tests.Support;
using static ModelDsl.Dsl.Tests.Binding.NameDiagnosticTests;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary>One test per MDL03xx diagnostic.</summary>
    public class ShapeDiagnosticTests
    {
        [Fact]
        public void MDL0300_elementwise_shapes_differ()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    h = x -> dense(hidden)\n    logits = ⟦h + x⟧ -> dense(classes)"), "MDL0300");
            Assert.Contains("add expects two tensors of the same shape, but h is [B, hidden=64] and x is [B, 784]", d[0].Message);
        }

        [Fact]
        public void MDL0300_loss_target_shape()
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[B, 784]\n    label y: i32[B, 2]\n    logits = x -> dense(classes)\n    output logits\n    loss cross_entropy(logits, ⟦y⟧)\n    optimizer adam()\n}", "MDL0300");
            Assert.Contains("cross_entropy expects the target y to have shape [B], but it is [B, 2]", d[0].Message);
        }

        [Fact]
        public void MDL0301_wrong_rank()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = ⟦x⟧ -> conv2d(8, kernel=3) -> flatten -> dense(classes)"), "MDL0301");
            Assert.Contains("conv2d expects x to have rank 4 [N, C, H, W], but it is [B, 784]", d[0].Message);
        }

        [Fact]
        public void MDL0302_not_divisible()
        {
            var d = AnnotatedText.AssertDiagnostics(
                "config { d = 128  heads = 6 }\nmodel ⟦⟦M⟧⟧ {\n    input x: f32[B, T, d]\n    a = x -> attention(⟦heads⟧)\n    output a\n}", "MDL0202", "MDL0203", "MDL0302");
            Assert.Contains("attention expects the last dimension of x to be divisible by heads=6, but it is d=128", d[2].Message);
        }

        [Fact]
        public void MDL0302_inexact_config_division()
        {
            var d = AnnotatedText.AssertDiagnostics("config { d = 128  heads = 6  head_dim = ⟦d/heads⟧ }\n" + Model("    logits = x -> dense(classes)"), "MDL0302");
            Assert.Contains("'d/heads' is not a whole number: 128 is not divisible by 6", d[0].Message);
        }

        [Fact]
        public void MDL0303_wrong_element_type()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes)\n    e = ⟦x⟧ -> embedding(10, 4)\n    output e").Replace("    output logits\n", ""), "MDL0303");
            Assert.Contains("embedding expects x to be i32, but it is f32[B, 784]", d[0].Message);
        }

        [Fact]
        public void MDL0304_kernel_larger_than_input()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> conv2d(4, kernel=⟦31⟧) -> flatten -> dense(classes)"), "MDL0304");
            Assert.Contains("conv2d kernel 31 is larger than the height", d[0].Message);
        }

        [Fact]
        public void MDL0305_sequence_longer_than_positional_table()
        {
            var d = AnnotatedText.AssertDiagnostics(
                "model M {\n    input idx: i32[B, 100]\n    label y: i32[B, 100]\n    e = idx -> embedding(50, 16)\n    p = ⟦e⟧ -> positional(64) -> dense(50)\n" +
                "    output p\n    loss cross_entropy(p, y)\n    optimizer adam()\n}", "MDL0305");
            Assert.Contains("positional table has max_len 64, but e [B, 100, 16] has 100 positions", d[0].Message);
        }

        [Fact]
        public void MDL0306_tied_parameter_shape_differs()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    h = x -> dense(hidden)\n    logits = h -> dense(classes, tie=⟦h.weight⟧)"), "MDL0306");
            Assert.Contains("dense needs a weight of shape [classes=10, hidden=64], but the tied parameter h.weight is [hidden=64, 784]", d[0].Message);
        }

        [Fact]
        public void MDL0307_reshape_changes_element_count()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape(⟦[B, 27, 28]⟧) -> flatten -> dense(classes)"), "MDL0307");
            Assert.Contains("reshape must keep the element count: x [B, 784] has 784*B elements but [B, 27, 28] has 756*B", d[0].Message);
        }

        [Fact]
        public void MDL0308_symbolic_dimension_sizes_a_parameter()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = ⟦x2⟧ -> dense(classes)").Replace("label y", "input x2: f32[B, F]\n    label y"), "MDL0308");
            Assert.Contains("dense needs the last dimension (it sizes the weight) of x2 to be known at compile time, but it is F", d[0].Message);
        }

        [Fact]
        public void MDL0309_axis_out_of_range()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> dense(classes) -> softmax(axis=⟦2⟧)"), "MDL0309");
            Assert.Contains("softmax: axis=2 is out of range for the output of dense of rank 2 (valid: -2..1)", d[0].Message);
        }

        [Fact]
        public void MDL0313_padding_same_with_a_stride_or_an_even_kernel()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> conv2d(4, 3, stride=2, padding=⟦\"same\"⟧) -> flatten -> dense(classes)"), "MDL0313");
            Assert.Contains("conv2d padding=\"same\" with stride 2: \"same\" keeps the input's height and width, which a stride above 1 cannot", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> conv2d(4, kernel=4, padding=⟦\"same\"⟧) -> flatten -> dense(classes)"), "MDL0313");
            Assert.Contains("conv2d padding=\"same\" with kernel 4: an even kernel needs one more row and column", d[0].Message);
        }

        [Fact]
        public void MDL0323_attention_mask_of_the_wrong_shape()
        {
            var d = AnnotatedText.AssertDiagnostics(
                "model M {\n    input x: f32[B, T, 8]\n    input m: i32[B, S]\n    label y: f32[B, T, 8]\n    a = x -> attention(2, causal=true, mask=⟦m⟧)\n    output a\n    loss mse(a, y)\n    optimizer adam()\n}", "MDL0323");
            Assert.Contains("attention expects the mask m to be [B, T] (one 0/1 per key of x: [B, T]), but it is [B, S]", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(
                "model M {\n    input x: f32[B, T, 8]\n    input m: i32[B, T]\n    label y: f32[B, T, 8]\n    e = m -> embedding(5, 2)\n    a = x -> attention(2, mask=⟦e⟧)\n    output a\n    loss mse(a, y)\n    optimizer adam()\n}", "MDL0323");
            Assert.Contains("attention expects the mask e to be [B, T] (one 0/1 per key of x: [B, T]), but it is [B, T, 2]", d[0].Message);
        }

        [Fact]
        public void MDL0314_batch_norm_with_one_value_per_channel()
        {
            var d = AnnotatedText.AssertDiagnostics(
                Head + "model M {\n    input x: f32[1, 784]\n    label y: i32[1]\n    logits = ⟦x⟧ -> batch_norm -> dense(classes)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}", "MDL0314");
            Assert.Contains("batch_norm over x [1, 784] sees one value per channel: training cannot compute the batch variance", d[0].Message);
        }

        [Fact]
        public void MDL0301_batch_norm_rank()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> ⟦reshape([B, 2, 2, 2, 98])⟧ -> batch_norm -> flatten -> dense(classes)"), "MDL0301");
            Assert.Contains("batch_norm expects the output of reshape to have rank 2, 3 or 4 ([B, C], [B, C, L] or [N, C, H, W]), but it is [B, 2, 2, 2, 98]", d[0].Message);
        }

        [Fact]
        public void MDL0313_permute_dims_that_are_not_a_permutation()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> permute(⟦0, 2, 2, 1⟧) -> flatten -> dense(classes)"), "MDL0313");
            Assert.Contains("permute (0, 2, 2, 1): the dims must name each axis of the output of reshape [B, 1, 28, 28] once (a permutation of 0..3)", d[0].Message);
        }

        [Fact]
        public void MDL0108_embedding_padding_idx_outside_the_table()
        {
            const string Head = "model M {\n    input idx: i32[B, 4]\n    label y: i32[B]\n    tok = embedding(idx, 10, 4, padding_idx=";
            const string Tail = ")\n    logits = tok -> flatten -> dense(3)\n    output logits\n    loss cross_entropy(logits, y)\n    optimizer adam()\n}\n";
            var d = AnnotatedText.AssertDiagnostics(Head + "⟦10⟧" + Tail, "MDL0108");
            Assert.Contains("embedding expects 'padding_idx' in [-10, 9], but it is 10", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Head + "⟦-11⟧" + Tail, "MDL0108");
            Assert.Contains("but it is -11", d[0].Message);
        }

        [Fact]
        public void MDL0324_select_index_and_slice_bounds_outside_a_known_axis()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 28, 28]) -> select(axis=1, index=⟦28⟧) -> dense(classes)"), "MDL0324");
            Assert.Contains("select: index=28 is out of range for axis 1 of the output of reshape, which has 28 positions (valid: -28..27)", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 28, 28]) -> slice(1, start=⟦-29⟧) -> flatten -> dense(classes)"), "MDL0324");
            Assert.Contains("slice: start=-29 is out of range for axis 1", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 28, 28]) -> slice(1, 4, end=⟦30⟧) -> flatten -> dense(classes)"), "MDL0324");
            Assert.Contains("slice: end=30 is out of range for axis 1 of the output of reshape, which has 28 positions (valid: -23..-1 or 5..28)", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 28, 28]) -> slice(1, 4, end=⟦-24⟧) -> flatten -> dense(classes)"), "MDL0324");
            Assert.Contains("rows 4..3 are empty; end must come after start (4)", d[0].Message);
        }

        [Fact]
        public void Select_and_slice_axis_out_of_range_is_MDL0309_and_a_length_that_depends_on_a_symbol_is_MDL0308()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> select(axis=⟦3⟧, index=0) -> dense(classes)").Replace("f32[B, 784]", "f32[B, T, 784]"), "MDL0309");
            Assert.Contains("select: axis=3 is out of range for x of rank 3", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    h = x -> ⟦slice(axis=1, start=1)⟧ -> dense(classes)\n    logits = h -> select(1, 0)").Replace("f32[B, 784]", "f32[B, T, 784]"), "MDL0308");
            Assert.Contains("slice needs axis 1 (start=1 with no end takes a number of rows that depends on it) of x to be known at compile time, but it is T in [B, T, 784]", d[0].Message);
        }

        [Fact]
        public void MDL0325_a_mask_that_is_not_the_leading_axes_of_the_reduced_input()
        {
            var d = AnnotatedText.AssertDiagnostics("model M {\n    input x: f32[B, T, 8]\n    input m: f32[B, 8]\n    label y: f32[B, 8]\n    h = x -> mean(axis=1, mask=⟦m⟧)\n    output h\n    loss mse(h, y)\n    optimizer adam()\n}", "MDL0325");
            Assert.Contains("mean expects the mask m to have shape [B, T] (the axes of x up to and including axis 1), but it is [B, 8]", d[0].Message);
        }

        [Fact]
        public void Padding_words_other_than_same_and_valid_and_pooling_padding_words_are_MDL0107()
        {
            var d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> conv2d(4, 3, padding=⟦\"full\"⟧) -> flatten -> dense(classes)"), "MDL0107");
            Assert.Contains("conv2d expects an integer or \"same\" or \"valid\" for 'padding', but got the string \"full\"", d[0].Message);
            d = AnnotatedText.AssertDiagnostics(Model("    logits = x -> reshape([B, 1, 28, 28]) -> max_pool2d(2, padding=⟦\"same\"⟧) -> flatten -> dense(classes)"), "MDL0107");
            Assert.Contains("max_pool2d expects an integer for 'padding', but got the string \"same\"", d[0].Message);
        }
    }
}
