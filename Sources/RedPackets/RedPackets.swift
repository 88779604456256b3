enum RedPacketsPlaceholder {}
