// Output-stationary processing element (int8 x int8, or A_W-bit a for 16-bit probabilities): passes a right and b down, accumulates a*b.
// On the tile's last step it hands acc + a*b to res and restarts from zero.
module ivit_pe #(
    parameter int A_W   = 8,
    parameter int ACC_W = 32
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic                    en,
    input  logic signed [A_W-1:0]   a_in,
    input  logic signed [7:0]       b_in,
    input  logic                    l_in,
    output logic signed [A_W-1:0]   a_out,
    output logic signed [7:0]       b_out,
    output logic                    l_out,
    output logic signed [ACC_W-1:0] res
);
    logic signed [ACC_W-1:0] acc, nxt;
    assign nxt = acc + ACC_W'(a_in * b_in);

    always_ff @(posedge clk) begin
        if (rst) begin
            acc   <= '0;
            l_out <= 1'b0;
        end else if (en) begin
            a_out <= a_in;
            b_out <= b_in;
            l_out <= l_in;
            if (l_in) begin
                res <= nxt;
                acc <= '0;
            end else begin
                acc <= nxt;
            end
        end
    end
endmodule
