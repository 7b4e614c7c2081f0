using System.Collections.Generic;

namespace ModelDsl.Plan
{
    /// <summary>Walks an expression DAG without recursion (fused loops can be deep chains), each node once.</summary>
    internal static class ExprWalker
    {
        /// <summary>Every distinct node reachable from <paramref name="root"/>, operands left before right.</summary>
        public static IEnumerable<Expr> Nodes(Expr root)
        {
            var seen = new HashSet<Expr>(); // Expr has reference equality: a shared sub-expression is one node
            var stack = new Stack<Expr>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var e = stack.Pop();
                if (!seen.Add(e)) continue;
                yield return e;
                switch (e)
                {
                    case UnaryExpr u: stack.Push(u.Operand); break;
                    case BinaryExpr b: stack.Push(b.Right); stack.Push(b.Left); break;
                }
            }
        }

        public static bool UsesDropout(Expr expr)
        {
            foreach (var node in Nodes(expr))
            {
                if (node is DropoutMaskExpr) return true;
            }
            return false;
        }
    }
}
