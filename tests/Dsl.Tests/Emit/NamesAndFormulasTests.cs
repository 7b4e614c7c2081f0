using ModelDsl.Emit;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Dsl.Tests.Emit
{
    /// <summary>The emitters' name scopes and the fused-loop header formulas.</summary>
    public class NamesAndFormulasTests
    {
        private static LoadExpr Load(string name, Broadcast broadcast = Broadcast.None) =>
            new LoadExpr(new PlanBuffer(name, BufferKind.Activation, new Shape(Dim.Known(4)), DType.F32, null, null), broadcast);

        [Fact]
        public void A_formula_reads_like_the_model_with_dropout_as_a_call_and_parentheses_only_where_needed()
        {
            var x = Load("logits_0");
            var bias = Load("logits_0_bias", Broadcast.Column);
            var relu = new UnaryExpr(UnaryOp.Relu, new BinaryExpr(BinaryOp.Add, x, bias));
            Assert.Equal("dropout(relu(logits_0 + logits_0_bias))", ExpressionFormula.Of(new BinaryExpr(BinaryOp.Multiply, relu, new DropoutMaskExpr(0, 0.1f))));

            var a = Load("a");
            var b = Load("b");
            var c = Load("c");
            Assert.Equal("a - (b + c)", ExpressionFormula.Of(new BinaryExpr(BinaryOp.Subtract, a, new BinaryExpr(BinaryOp.Add, b, c))));
            Assert.Equal("a + b - c", ExpressionFormula.Of(new BinaryExpr(BinaryOp.Subtract, new BinaryExpr(BinaryOp.Add, a, b), c)));
            Assert.Equal("(a + b) · c", ExpressionFormula.Of(new BinaryExpr(BinaryOp.Multiply, new BinaryExpr(BinaryOp.Add, a, b), c)));
            Assert.Equal("a · b · gelu_grad(c) + 0.5", ExpressionFormula.Of(new BinaryExpr(BinaryOp.Add,
                new BinaryExpr(BinaryOp.Multiply, a, new BinaryExpr(BinaryOp.Multiply, b, new UnaryExpr(UnaryOp.GeluGrad, c))), new ConstExpr(0.5f))));
            Assert.Equal("negative_exp_m1(a)", ExpressionFormula.Of(new UnaryExpr(UnaryOp.NegativeExpM1, a)));
        }

        [Fact]
        public void A_name_scope_keeps_free_names_and_suffixes_reserved_ones_numbered_temporaries_and_prefixes()
        {
            var scope = new NameScope(new[] { "rows", "seed" }, numbered: new[] { "v" }, prefixes: new[] { "md_" });
            Assert.Equal("logits", scope.Claim("a", "logits"));
            Assert.Equal("logits", scope.Claim("a", "logits")); // the same key, the same name
            Assert.Equal("rows_2", scope.Claim("b", "rows"));
            Assert.Equal("seed_2", scope.Claim("c", "seed"));
            Assert.Equal("v0_2", scope.Claim("d", "v0"));
            Assert.Equal("v", scope.Claim("e", "v")); // only v followed by digits is a temporary
            Assert.Equal("u_md_relu", scope.Claim("f", "md_relu"));
            Assert.Equal("rows_2_2", scope.Claim("g", "rows_2")); // a .model name that is another's renaming
            Assert.Equal("logits_2", scope.Claim("h", "logits")); // two keys never share an identifier
        }
    }
}
